// The TorchScript building blocks (models/export/script_module.h) and the scripted
// encoders (BERT, ModernBERT, DeBERTa) against the eager models themselves.
#include "tests/catch.h"

#include "models/bert/script_export.h"
#include "models/deberta/deberta.h"
#include "models/modernbert/modernbert.h"
#include "models/script_text_encoder.h"
#include "models/peft/bottleneck/layer.h"
#include "models/peft/lora/layer.h"

#include <torch/script.h>

#include <limits>
#include <sstream>

namespace attune::script_test {

TEST_CASE("float literals read back as the same double and stay floats", "[export][script]") {
  CHECK(script::float_literal(1.0) == "1.0");
  CHECK(script::float_literal(-3.0) == "-3.0");
  for (double v : {1e-12, 0.125, 1.0 / 3.0, 0.17677669529663687, double(std::numeric_limits<float>::lowest())}) {
    CAPTURE(v);
    CHECK(std::stod(script::float_literal(v)) == v);
  }
  CHECK_THROWS_AS(script::float_literal(std::numeric_limits<double>::infinity()), c10::Error);
}

TEST_CASE("class names are unique per stem within one export", "[export][script]") {
  script::ClassNames names;
  CHECK(names.next("Layer").qualifiedName() == "__torch__.attune.Layer0");
  CHECK(names.next("Layer").qualifiedName() == "__torch__.attune.Layer1");
  CHECK(names.next("Model").qualifiedName() == "__torch__.attune.Model0");
}

TEST_CASE("a Linear scripts with its bottleneck adapter; other unmerged adapters are refused", "[export][script]") {
  torch::manual_seed(4);
  torch::NoGradGuard no_grad;
  models::Linear layer(6, 5);
  auto adapter = peft::BottleneckAdapter(5, 2, models::Activation::kSilu);
  adapter->up->weight.normal_(0.0, 0.5);
  adapter->up->bias.normal_(0.0, 0.5);
  layer->add_adapter("a", adapter.ptr());
  layer->set_active_adapter("a");
  script::ClassNames names;
  script::ScriptModuleBuilder b(names, "Probe");
  torch::jit::Module m = b.build("def forward(self, x: Tensor) -> Tensor:\n    return " + b.linear(*layer, "proj", "x") + "\n");
  // Bitwise: the script uses the kernels LinearImpl::forward uses, for 2-d and 3-d inputs.
  for (const auto& shape : {std::vector<int64_t>{3, 6}, std::vector<int64_t>{2, 4, 6}}) {
    const torch::Tensor x = torch::randn(shape);
    CHECK(torch::equal(m.forward({x}).toTensor(), layer->forward(x)));
  }
  models::Linear lora(6, 5);
  lora->add_adapter("l", peft::LoraAdapter(6, 5, peft::LoraOptions(2, 4.0)).ptr());
  lora->set_active_adapter("l");
  script::ScriptModuleBuilder c(names, "Probe");
  std::string message = "<none>";
  try {
    c.linear(*lora, "proj", "x");
  } catch (const c10::Error& e) {
    message = e.what_without_backtrace();
  }
  CHECK(message.find("only merging can export") != std::string::npos);
}

TEST_CASE("the scripted BERT encoder equals BertModel's hidden states and pooler", "[export][script]") {
  torch::manual_seed(9);
  models::BertModel model(models::BertOptions()
                              .vocab_size(40)
                              .hidden_size(12)
                              .num_hidden_layers(3)
                              .num_attention_heads(3)
                              .intermediate_size(20)
                              .max_position_embeddings(24)
                              .hidden_act("gelu_new"));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.1);
  }
  model->eval();
  script::ClassNames names;
  torch::jit::Module m = models::script_bert(*model, names);
  torch::NoGradGuard no_grad;
  for (int64_t t : {1, 6, 24}) {
    CAPTURE(t);
    const torch::Tensor ids = torch::randint(0, 40, {2, t});
    torch::Tensor mask = torch::ones({2, t}, torch::kLong);
    mask[1][t - 1] = 0;
    const auto expected = model->forward(ids, {}, mask);
    const torch::Tensor hidden = m.forward({ids, mask}).toTensor();
    // Bitwise on LibTorch 1.13; 2.x runs attune's attention through the fused kernel.
    CHECK((hidden - expected.last_hidden_state).abs().max().item<double>() < 1e-5);
    CHECK((m.run_method("pool", hidden, mask).toTensor() - expected.pooler_output).abs().max().item<double>() < 1e-5);
  }
  CHECK_THROWS(m.forward({torch::zeros({1, 25}, torch::kLong), torch::ones({1, 25}, torch::kLong)}));
}

// Every parameter moved off its initial value (zero biases, unit norms would hide
// mistakes), eval mode.
void perturb(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) p.add_(torch::randn_like(p) * 0.1);
  model.eval();
}

// The scripted encoder (saved and loaded, as a bundle is) against encode() at every
// position, padded rows included, for lengths 1 .. longest; then a longer input fails.
void check_scripted_encoder(models::TextEncoderImpl& model, int64_t vocab, int64_t longest) {
  script::ClassNames names;
  torch::jit::Module m = models::script_text_encoder(model, names);
  std::stringstream archive;
  m.save(archive);
  m = torch::jit::load(archive);
  torch::NoGradGuard no_grad;
  for (int64_t t : {int64_t{1}, int64_t{7}, longest}) {
    CAPTURE(t);
    const torch::Tensor ids = torch::randint(1, vocab, {3, t});
    torch::Tensor mask = torch::ones({3, t}, torch::kLong);
    if (t > 2) mask[1].narrow(0, t - 2, 2).zero_();
    const torch::Tensor types = torch::randint(0, 2, {3, t});
    const models::EncoderOutput expected = model.encode(ids, types, mask, false);
    const torch::Tensor hidden = m.forward({ids, mask, types}).toTensor();
    CHECK((hidden - expected.hidden).abs().max().item<double>() < 1e-5);
    REQUIRE(m.find_method("pool").has_value() == expected.pooled.defined());
    if (expected.pooled.defined()) {
      CHECK((m.run_method("pool", hidden, mask).toTensor() - expected.pooled).abs().max().item<double>() < 1e-5);
    }
  }
  CHECK_THROWS(m.forward({torch::ones({1, longest + 1}, torch::kLong), torch::ones({1, longest + 1}, torch::kLong)}));
}

TEST_CASE("the scripted ModernBERT equals the model: local windows, both rope bases, both poolings", "[export][script][modernbert]") {
  const auto base = models::ModernBertOptions()
                        .vocab_size(30)
                        .hidden_size(16)
                        .intermediate_size(12)
                        .num_hidden_layers(4)
                        .num_attention_heads(2)
                        .max_position_embeddings(20)
                        .local_attention(4)
                        .global_attn_every_n_layers(3)
                        .pad_token_id(0);
  for (const auto& options : {base, models::ModernBertOptions(base)
                                        .norm_bias(true)
                                        .attention_bias(true)
                                        .mlp_bias(true)
                                        .classifier_bias(true)
                                        .classifier_pooling("mean")
                                        .classifier_activation("silu")
                                        .hidden_activation("gelu_new")
                                        .global_attn_every_n_layers(2)
                                        .global_rope_theta(500.0)
                                        .local_rope_theta(77.0),
                              models::ModernBertOptions(base).add_head(false)}) {
    CAPTURE(options.classifier_pooling(), options.add_head());
    torch::manual_seed(3);
    models::ModernBertModel model(options);
    perturb(*model);
    check_scripted_encoder(*model, 30, 20);
  }
}

TEST_CASE("the scripted DeBERTa equals the model: v3 buckets, absolute positions, c2p or p2c alone", "[export][script][deberta]") {
  const models::DebertaV2Options v3 =
      models::deberta_v3_options(30, 16, 2, 4, 24).max_position_embeddings(24).position_buckets(8);
  const models::DebertaV2Options absolute = models::DebertaV2Options()
                                                .vocab_size(30)
                                                .hidden_size(16)
                                                .num_hidden_layers(2)
                                                .num_attention_heads(2)
                                                .intermediate_size(20)
                                                .max_position_embeddings(24)
                                                .type_vocab_size(2)
                                                .relative_attention(true)
                                                .max_relative_positions(6)
                                                .pos_att_type({"c2p"})
                                                .share_att_key(false)
                                                .embedding_size(8)
                                                .pooler_hidden_act("tanh");
  for (const auto& options : {v3, models::DebertaV2Options(v3).pos_att_type({"p2c"}).share_att_key(false), absolute,
                              models::DebertaV2Options(absolute).relative_attention(false),
                              models::DebertaV2Options(v3).add_pooling_layer(false)}) {
    CAPTURE(options.pos_att_type(), options.relative_attention(), options.add_pooling_layer());
    torch::manual_seed(5);
    models::DebertaV2Model model(options);
    perturb(*model);
    check_scripted_encoder(*model, 30, 24);
  }
}

}  // namespace attune::script_test
