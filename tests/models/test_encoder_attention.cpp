// The attention switches every encoder takes from its config (masks, position biases,
// cross-layer fusion, context-conditioned attention), each against the plain model or a
// hand-built reference, and the fused attention kernel against the explicit math path.
#include "tests/catch.h"

#include "models/attention/attention.h"
#include "models/transformer/encoder_attention.h"
#include "models/attention/layer_fusion.h"
#include "models/attention/masks.h"
#include "models/bert/bert.h"
#include "models/bert/model_config.h"
#include "models/vit/vit.h"
#include "tests/common/errors.h"

namespace attune::encoder_attention_test {

using namespace attune::models;
using attune::testing::error_of;

namespace {

BertOptions small_bert(int64_t layers, const EncoderAttentionOptions& switches = {}) {
  return BertOptions()
      .vocab_size(40)
      .hidden_size(16)
      .num_hidden_layers(layers)
      .num_attention_heads(4)
      .intermediate_size(32)
      .max_position_embeddings(16)
      .hidden_dropout_prob(0.0)
      .attention_probs_dropout_prob(0.0)
      .attention(switches);
}

// Copies every tensor `to` shares by name with `from`; returns how many `to` has that `from` lacks.
int copy_shared(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  int extra = 0;
  for (auto& p : to.named_parameters()) {
    if (const torch::Tensor* t = source.find(p.key())) {
      p.value().copy_(*t);
    } else {
      ++extra;
    }
  }
  return extra;
}

struct Inputs {
  torch::Tensor ids, mask;
};

Inputs padded_inputs() {
  torch::manual_seed(7);
  Inputs in;
  in.ids = torch::randint(1, 40, {3, 9}, torch::kLong);
  in.mask = torch::ones({3, 9}, torch::kLong);
  in.mask[1].narrow(0, 6, 3).zero_();
  in.mask[2].narrow(0, 2, 7).zero_();
  return in;
}

double max_diff_on_real(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask) {
  const torch::Tensor real = mask.to(torch::kBool).unsqueeze(-1);
  return (a - b).abs().masked_fill(real.logical_not(), 0.0).max().item<double>();
}

}  // namespace

TEST_CASE("cross-layer fusion of one layer is the plain model; of several, a convex mix", "[encoder-attention][fusion]") {
  const Inputs in = padded_inputs();
  for (bool pre_ln : {false, true}) {
    EncoderAttentionOptions fused;
    fused.layer_fusion = true;
    BertModel plain(small_bert(1).pre_layer_norm(pre_ln));
    BertModel with(small_bert(1, fused).pre_layer_norm(pre_ln));
    CHECK(copy_shared(*plain, *with) == 2);  // layer_fusion.query and layer_bias
    {
      torch::NoGradGuard no_grad;
      with->encoder->extras.layer_fusion->query.normal_();  // a query far from zero changes nothing with one layer
    }
    plain->eval();
    with->eval();
    CHECK(torch::allclose(plain->forward(in.ids, {}, in.mask).last_hidden_state,
                          with->forward(in.ids, {}, in.mask).last_hidden_state, 0.0, 0.0));
  }
  // Several layers: the weights sum to one per position, start with half on the last
  // layer, and the output is exactly the weighted sum.
  CrossLayerFusion fusion(CrossLayerFusionOptions(8, 3));
  std::vector<torch::Tensor> layers = {torch::randn({2, 5, 8}), torch::randn({2, 5, 8}), torch::randn({2, 5, 8})};
  torch::Tensor w;
  torch::Tensor out = fusion->forward(layers, &w);
  CHECK(torch::allclose(w.sum(-1), torch::ones({2, 5})));
  CHECK(torch::allclose(w.select(-1, 2), torch::full({2, 5}, 0.5)));
  {
    torch::NoGradGuard no_grad;
    fusion->query.normal_();
  }
  out = fusion->forward(layers, &w);
  const torch::Tensor expected = layers[0] * w.select(-1, 0).unsqueeze(-1) + layers[1] * w.select(-1, 1).unsqueeze(-1) +
                                 layers[2] * w.select(-1, 2).unsqueeze(-1);
  CHECK(torch::allclose(out, expected, 1e-5, 1e-6));
  CHECK(w.std().item<double>() > 0.01);  // the query now tells positions apart
}

TEST_CASE("context attention: a zero context is plain attention; a context shifts the queries", "[encoder-attention][context]") {
  const Inputs in = padded_inputs();
  EncoderAttentionOptions with_context;
  with_context.context_size = 3;
  BertModel plain(small_bert(2));
  BertModel conditioned(small_bert(2, with_context));
  CHECK(copy_shared(*plain, *conditioned) == 2);  // one context map per layer
  for (auto& p : conditioned->named_parameters()) {
    if (p.key().find("attention.context.") != std::string::npos) {
      CHECK(p.value().abs().max().item<double>() == 0.0);  // starts with no effect
      torch::NoGradGuard no_grad;
      p.value().normal_();
    }
  }
  plain->eval();
  conditioned->eval();
  const torch::Tensor base = plain->forward(in.ids, {}, in.mask).last_hidden_state;
  CHECK(torch::allclose(base, conditioned->forward(in.ids, {}, in.mask, false, torch::zeros({3, 3})).last_hidden_state,
                        0.0, 0.0));
  const torch::Tensor context = torch::randn({3, 3});
  const torch::Tensor shifted = conditioned->forward(in.ids, {}, in.mask, false, context).last_hidden_state;
  CHECK(max_diff_on_real(base, shifted, in.mask) > 1e-4);

  // Reference for one layer: attention whose query projection has the context map's
  // output added (scores gain shift . key / sqrt(d)).
  TransformerEncoderLayer layer(TransformerEncoderLayerOptions(16, 4, 32).hidden_dropout(0.0).attention_dropout(0.0).context_size(3));
  {
    torch::NoGradGuard no_grad;
    layer->attention->context->weight.normal_();
  }
  layer->eval();
  const torch::Tensor x = torch::randn({3, 9, 16});
  const torch::Tensor got = layer->forward(x, padding_mask(in.mask), nullptr, context);
  // The same layer with the shift folded into a per-example query bias, one example at a time.
  for (int64_t b = 0; b < 3; ++b) {
    TransformerEncoderLayer reference(TransformerEncoderLayerOptions(16, 4, 32).hidden_dropout(0.0).attention_dropout(0.0));
    copy_shared(*layer, *reference);
    {
      torch::NoGradGuard no_grad;
      reference->attention->self_attention->query->bias.add_(
          torch::matmul(layer->attention->context->weight, context[b]));
    }
    reference->eval();
    const torch::Tensor expected = reference->forward(x.narrow(0, b, 1), padding_mask(in.mask.narrow(0, b, 1)));
    CHECK(torch::allclose(got.narrow(0, b, 1), expected, 1e-5, 1e-5));
  }
  CHECK(attune::testing::exception_of([&] { conditioned->forward(in.ids, {}, in.mask); }).find("reads a context of 3 values") != std::string::npos);
  CHECK(attune::testing::exception_of([&] { plain->forward(in.ids, {}, in.mask, false, context); }).find("no context_size") != std::string::npos);
}

TEST_CASE("masks and position biases from the model config reach every layer", "[encoder-attention][masks]") {
  const Inputs in = padded_inputs();
  const torch::Tensor ids = in.ids.narrow(0, 0, 1);
  EncoderAttentionOptions window;
  window.mask = {{"window", 1}};
  // With a window of 1, one layer lets position 0 see positions 0 and 1 only: changing
  // token 5 leaves it alone, though it changes the plain model's position 0.
  for (const auto& [switches, reach] : std::vector<std::pair<EncoderAttentionOptions, bool>>{{window, false}, {{}, true}}) {
    BertModel model(small_bert(1, switches));
    model->eval();
    torch::Tensor changed = ids.clone();
    changed[0][5] = (ids[0][5].item<int64_t>() % 39) + 1;
    const torch::Tensor a = model->forward(ids).last_hidden_state.select(1, 0);
    const torch::Tensor b = model->forward(changed).last_hidden_state.select(1, 0);
    CHECK(((a - b).abs().max().item<double>() > 1e-6) == reach);
  }
  // Each position always sees itself: no row of the mask is empty, whatever the spec.
  EncoderAttentionOptions hide_all;
  hide_all.mask = {{"not", {{"window", 20}}}};
  BertModel hidden_rows(small_bert(1, hide_all));
  CHECK(hidden_rows->encoder->extras.mask_for(padding_mask(in.mask), 9, torch::kCPU).any(-1).all().item<bool>());
  // ALiBi and the relative bias equal running the plain layers with the bias added by hand.
  for (const std::string bias : {"alibi", "relative"}) {
    EncoderAttentionOptions switches;
    switches.position_bias = bias;
    switches.relative_max_distance = 3;
    switches.mask = {{"window", 4}};
    BertModel model(small_bert(2, switches));
    if (bias == "relative") {
      torch::NoGradGuard no_grad;
      model->encoder->extras.relative_position_bias->bias->weight.normal_();
    }
    model->eval();
    const int64_t t = in.ids.size(1);
    const torch::Tensor position_bias =
        bias == "alibi" ? masks::alibi_bias(4, t, t) : model->encoder->extras.relative_position_bias->forward(t, t);
    const torch::Tensor allowed =
        padding_mask(in.mask).logical_and(masks::sliding_window(t, t, 4)).logical_or(torch::eye(t, torch::kBool));
    const torch::Tensor additive = masks::with_bias(allowed, position_bias.unsqueeze(0));
    torch::Tensor h = model->embeddings->forward(in.ids, torch::zeros_like(in.ids));
    for (const auto& layer : *model->encoder->layer) h = layer->as<TransformerEncoderLayer>()->forward(h, additive);
    CHECK(max_diff_on_real(h, model->forward(in.ids, {}, in.mask).last_hidden_state, in.mask) < 1e-5);
  }
}

TEST_CASE("the switches are read from and written back to model configs, and checked", "[encoder-attention][config]") {
  nlohmann::json cfg = {{"name", "bert"}, {"preset", "tiny"}, {"attention_mask", {{"window", 8}}},
                        {"position_bias", "relative"}, {"relative_max_distance", 16}, {"layer_fusion", true}};
  const BertOptions o = bert_options_from_model_config(cfg, 100, "model");
  CHECK(o.attention().mask == nlohmann::json{{"window", 8}});
  CHECK(o.attention().layer_fusion);
  const nlohmann::json back = bert_model_config(o, "tiny");
  CHECK(back.at("attention_mask") == cfg.at("attention_mask"));
  CHECK(back.at("relative_max_distance") == 16);
  CHECK(!bert_model_config(BertOptions(), "").contains("layer_fusion"));  // defaults stay out
  cfg["position_bias"] = "rotary";
  CHECK(error_of([&] { bert_options_from_model_config(cfg, 100, "model"); }) ==
        "model.position_bias: unknown value 'rotary' (known: none, alibi, relative)");
  cfg["position_bias"] = "none";
  cfg["attention_mask"] = {{"window", -1}};
  CHECK(error_of([&] { bert_options_from_model_config(cfg, 100, "model"); }) ==
        "model.attention_mask.window: must be an integer >= 1, got -1");
  CHECK(is_encoder_attention_parameter("bert.encoder.layer_fusion.query"));
  CHECK(is_encoder_attention_parameter("encoder.layer.0.attention.context.weight"));
  CHECK(!is_encoder_attention_parameter("encoder.layer.0.attention.self.query.weight"));
}

TEST_CASE("the ViT pools by class token, mean or attention, and takes a grid mask", "[encoder-attention][vit]") {
  torch::manual_seed(3);
  const torch::Tensor images = torch::randn({2, 1, 8, 8});
  for (const std::string pooling : {"cls", "mean", "attention"}) {
    EncoderAttentionOptions grid;
    grid.mask = {{"any", {{{"grid", {{"side", 4}, {"radius", 1}, {"offset", 1}}}}, {{"global", {0}}}}}};
    grid.layer_fusion = true;
    VisionTransformer vit(VisionTransformerOptions(8, 2, 5).hidden_size(8).num_heads(2).num_layers(2).mlp_size(16)
                              .pooling(pooling).attention(grid));
    vit->eval();
    std::vector<torch::Tensor> weights;
    CHECK(vit->forward(images, &weights).sizes() == std::vector<int64_t>{2, 5});
    REQUIRE(weights.size() == 2);
    // Patch 0 (position 1, grid cell (0,0)) cannot see patch 15 (cell (3,3)); the class token sees all.
    CHECK(weights[0][0][0][1][16].item<float>() == 0.0f);
    CHECK(weights[0][0][0][0][16].item<float>() > 0.0f);
  }
  // Mean pooling is the mean of the patch tokens after the final norm (timm's "avg").
  VisionTransformer vit(VisionTransformerOptions(8, 2, 5).hidden_size(8).num_heads(2).num_layers(1).mlp_size(16).pooling("mean"));
  VisionTransformer attention(VisionTransformerOptions(8, 2, 5).hidden_size(8).num_heads(2).num_layers(1).mlp_size(16).pooling("attention"));
  CHECK(copy_shared(*vit, *attention) == 1);  // attention_query, zero: attention pooling starts as the mean
  vit->eval();
  attention->eval();
  CHECK(torch::allclose(vit->forward(images), attention->forward(images), 1e-5, 1e-6));
  EncoderAttentionOptions context;
  context.context_size = 2;
  CHECK(attune::testing::exception_of([&] { VisionTransformer(VisionTransformerOptions(8, 2, 5).attention(context)); })
            .find("images have no context input") != std::string::npos);
}

TEST_CASE("the fused attention kernel and the explicit math path agree", "[encoder-attention][fused]") {
  // weights != nullptr forces the math path; without it LibTorch 2.x takes the fused
  // kernel (on 1.13 both run the math path, and this checks the two calls agree).
  torch::manual_seed(11);
  std::vector<torch::Device> devices = {torch::kCPU};
  if (torch::cuda::is_available()) devices.push_back(torch::kCUDA);
  for (const auto& device : devices) {
    const auto opts = torch::TensorOptions().device(device);
    const torch::Tensor q = torch::randn({2, 4, 7, 8}, opts), k = torch::randn({2, 4, 7, 8}, opts),
                        v = torch::randn({2, 4, 7, 8}, opts);
    torch::Tensor mask01 = torch::ones({2, 7}, torch::kLong);
    mask01[1].narrow(0, 4, 3).zero_();
    const torch::Tensor padding = padding_mask(mask01).to(device);
    const std::vector<std::pair<std::string, torch::Tensor>> masks_to_try = {
        {"none", {}},
        {"padding", padding},
        {"window", padding.logical_and(masks::sliding_window(7, 7, 1, device))},
        {"alibi", masks::with_bias(padding, masks::alibi_bias(4, 7, 7, device).unsqueeze(0))},
        {"fully masked row", masks::sliding_window(7, 7, 1, device).logical_and(masks::causal(7, 7, device).logical_not())},
    };
    for (const auto& [name, mask] : masks_to_try) {
      for (bool causal : {false, true}) {
        if (causal && name == "fully masked row") continue;
        CAPTURE(device, name, causal);
        torch::Tensor weights;
        const torch::Tensor math = attend(q, k, v, mask, causal, 0.0, false, &weights);
        const torch::Tensor fused = attend(q, k, v, mask, causal, 0.0, false);
        // Rows with no visible key differ by design (see attend()); compare the others.
        torch::Tensor seen = torch::ones({2, 4, 7}, torch::TensorOptions().dtype(torch::kBool).device(device));
        if (mask.defined() && mask.scalar_type() == torch::kBool) {
          torch::Tensor visible = mask.expand({2, 4, 7, 7});
          if (causal) visible = visible.logical_and(masks::causal(7, 7, device));
          seen = visible.any(-1);
        }
        CHECK((math - fused).abs().masked_fill(seen.logical_not().unsqueeze(-1), 0.0).max().item<double>() < 1e-5);
        CHECK(torch::isfinite(fused).all().item<bool>());
      }
    }
  }
}

}  // namespace attune::encoder_attention_test
