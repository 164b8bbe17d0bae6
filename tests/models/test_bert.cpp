#include "models/bert/bert.h"
#include "models/bert/masked_lm.h"
#include "models/common/parameters.h"
#include "tests/catch.h"
#include "tests/models/reference.h"

using namespace attune::models;
using attune::testing::layer_norm_ref;
using attune::testing::user_error_message;

namespace {

BertOptions tiny_options() {
  return BertOptions()
      .vocab_size(50)
      .hidden_size(16)
      .num_hidden_layers(2)
      .num_attention_heads(4)
      .intermediate_size(32)
      .max_position_embeddings(12);
}

std::vector<std::string> parameter_names(const torch::nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& p : m.named_parameters()) names.push_back(p.key());
  return names;
}

}  // namespace

TEST_CASE("BertModel parameter names equal Hugging Face BertModel state_dict keys", "[bert]") {
  BertModel model(tiny_options().num_hidden_layers(1));
  // Keys (and order) of transformers' BertModel(BertConfig(num_hidden_layers=1)).state_dict().
  const std::vector<std::string> hf_keys = {
      "embeddings.word_embeddings.weight",
      "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight",
      "embeddings.LayerNorm.weight",
      "embeddings.LayerNorm.bias",
      "encoder.layer.0.attention.self.query.weight",
      "encoder.layer.0.attention.self.query.bias",
      "encoder.layer.0.attention.self.key.weight",
      "encoder.layer.0.attention.self.key.bias",
      "encoder.layer.0.attention.self.value.weight",
      "encoder.layer.0.attention.self.value.bias",
      "encoder.layer.0.attention.output.dense.weight",
      "encoder.layer.0.attention.output.dense.bias",
      "encoder.layer.0.attention.output.LayerNorm.weight",
      "encoder.layer.0.attention.output.LayerNorm.bias",
      "encoder.layer.0.intermediate.dense.weight",
      "encoder.layer.0.intermediate.dense.bias",
      "encoder.layer.0.output.dense.weight",
      "encoder.layer.0.output.dense.bias",
      "encoder.layer.0.output.LayerNorm.weight",
      "encoder.layer.0.output.LayerNorm.bias",
      "pooler.dense.weight",
      "pooler.dense.bias",
  };
  CHECK(parameter_names(*model) == hf_keys);
  CHECK(model->named_buffers().is_empty());

  SECTION("pre-LN adds only the final norm; no pooler drops the pooler") {
    std::vector<std::string> pre_ln(hf_keys.begin(), hf_keys.end() - 2);
    pre_ln.push_back("encoder.final_layer_norm.weight");
    pre_ln.push_back("encoder.final_layer_norm.bias");
    CHECK(parameter_names(*BertModel(tiny_options().num_hidden_layers(1).pre_layer_norm(true).add_pooling_layer(false))) ==
          pre_ln);
  }
}

TEST_CASE("the base preset has bert-base-uncased's parameter count", "[bert]") {
  BertModel model(bert_preset("base", 30522));
  int64_t count = 0;
  for (const auto& p : model->parameters()) count += p.numel();
  CHECK(count == 109482240);
  CHECK(bert_parameter_count(bert_preset("base", 30522)) == 109482240);
}

TEST_CASE("bert_parameter_count matches the built model for every layout", "[bert]") {
  for (const bool pre_ln : {false, true}) {
    for (const bool pooler : {false, true}) {
      const BertOptions o = bert_preset("tiny", 1000).pre_layer_norm(pre_ln).add_pooling_layer(pooler).intermediate_size(200);
      BertModel model(o);
      int64_t count = 0;
      for (const auto& p : model->parameters()) count += p.numel();
      CHECK(bert_parameter_count(o) == count);
    }
  }
}

TEST_CASE("BertModel initialises weights as Hugging Face does", "[bert]") {
  torch::manual_seed(21);
  BertModel model(tiny_options().pad_token_id(3).initializer_range(0.05));
  auto p = model->named_parameters();
  CHECK(p["embeddings.word_embeddings.weight"][3].abs().max().item<double>() == 0.0);
  CHECK(p["embeddings.word_embeddings.weight"][4].abs().max().item<double>() > 0.0);
  CHECK(p["encoder.layer.1.output.LayerNorm.weight"].eq(1).all().item<bool>());
  CHECK(p["embeddings.LayerNorm.bias"].eq(0).all().item<bool>());
  CHECK(p["encoder.layer.0.intermediate.dense.bias"].eq(0).all().item<bool>());
  for (const std::string name : {"encoder.layer.0.intermediate.dense.weight", "embeddings.position_embeddings.weight",
                                 "pooler.dense.weight"}) {
    INFO(name);
    CHECK(std::abs(p[name].std().item<double>() - 0.05) < 0.01);
  }
}

TEST_CASE("BertModel forward is embeddings then layers then pooler", "[bert]") {
  torch::manual_seed(22);
  BertModel model(tiny_options());
  model->to(torch::kDouble);
  model->eval();
  const torch::Tensor ids = torch::randint(0, 50, {2, 6}, torch::kLong);
  const torch::Tensor types = torch::randint(0, 2, {2, 6}, torch::kLong);
  const torch::Tensor mask = torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, torch::kLong).view({2, 6});
  auto p = model->named_parameters();

  const torch::Tensor embedded = layer_norm_ref(
      p["embeddings.word_embeddings.weight"].index_select(0, ids.flatten()).view({2, 6, 16}) +
          p["embeddings.token_type_embeddings.weight"].index_select(0, types.flatten()).view({2, 6, 16}) +
          p["embeddings.position_embeddings.weight"].narrow(0, 0, 6),
      p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"], 1e-12);
  torch::Tensor hidden = embedded;
  for (int i = 0; i < 2; ++i) {
    hidden = model->encoder->layer[i]->as<TransformerEncoderLayerImpl>()->forward(hidden, padding_mask(mask));
  }
  const BertOutput out = model->forward(ids, types, mask);
  CHECK(torch::allclose(out.last_hidden_state, hidden, 1e-10, 1e-10));
  const torch::Tensor pooled =
      torch::tanh(torch::matmul(hidden.select(1, 0), p["pooler.dense.weight"].t()) + p["pooler.dense.bias"]);
  CHECK(torch::allclose(out.pooler_output, pooled, 1e-10, 1e-10));
  CHECK(out.attentions.empty());
  // Undefined token types mean segment 0 everywhere.
  CHECK(model->forward(ids, {}, mask).last_hidden_state.equal(
      model->forward(ids, torch::zeros_like(ids), mask).last_hidden_state));
}

TEST_CASE("padding tokens do not change the outputs of real tokens", "[bert]") {
  torch::manual_seed(23);
  for (const bool pre_ln : {false, true}) {
    INFO("pre_layer_norm = " << pre_ln);
    BertModel model(tiny_options().pre_layer_norm(pre_ln));
    model->eval();
    const torch::Tensor ids = torch::randint(1, 50, {2, 5}, torch::kLong);
    const torch::Tensor mask = torch::ones({2, 5}, torch::kLong);
    // Non-pad ids in the padding positions, so only the mask can hide them.
    const torch::Tensor padded_ids = torch::cat({ids, torch::randint(1, 50, {2, 3}, torch::kLong)}, 1);
    const torch::Tensor padded_mask = torch::cat({mask, torch::zeros({2, 3}, torch::kLong)}, 1);
    const BertOutput plain = model->forward(ids, {}, mask);
    const BertOutput padded = model->forward(padded_ids, {}, padded_mask);
    CHECK(torch::allclose(padded.last_hidden_state.narrow(1, 0, 5), plain.last_hidden_state, 1e-6, 1e-6));
    CHECK(torch::allclose(padded.pooler_output, plain.pooler_output, 1e-6, 1e-6));
    // Without the mask the extra tokens do change the result.
    CHECK_FALSE(torch::allclose(model->forward(padded_ids).last_hidden_state.narrow(1, 0, 5),
                                plain.last_hidden_state, 1e-3, 1e-3));
  }
}

TEST_CASE("output_attentions gives one (B,H,T,T) map per layer", "[bert]") {
  torch::manual_seed(24);
  BertModel model(tiny_options().num_hidden_layers(3));
  model->eval();
  const torch::Tensor ids = torch::randint(0, 50, {2, 7}, torch::kLong);
  const torch::Tensor mask = torch::ones({2, 7}, torch::kLong);
  mask[1].narrow(0, 4, 3).zero_();
  const BertOutput out = model->forward(ids, {}, mask, true);
  REQUIRE(out.attentions.size() == 3);
  for (const auto& a : out.attentions) {
    CHECK(a.sizes() == torch::IntArrayRef({2, 4, 7, 7}));
    CHECK(torch::allclose(a.sum(-1), torch::ones({2, 4, 7}), 1e-5, 1e-5));
    CHECK(a[1].narrow(-1, 4, 3).abs().max().item<float>() == 0.0f);
  }
  // Asking for the maps does not change the hidden states.
  CHECK(torch::allclose(out.last_hidden_state, model->forward(ids, {}, mask).last_hidden_state, 1e-6, 1e-6));
}

TEST_CASE("BertModel is deterministic in eval mode and stochastic in training", "[bert]") {
  torch::manual_seed(25);
  BertModel model(tiny_options());
  const torch::Tensor ids = torch::randint(0, 50, {2, 6}, torch::kLong);
  model->eval();
  const torch::Tensor a = model->forward(ids).last_hidden_state;
  CHECK(model->forward(ids).last_hidden_state.equal(a));
  model->train();
  CHECK_FALSE(torch::allclose(model->forward(ids).last_hidden_state, a, 1e-4, 1e-4));
}

TEST_CASE("BertModel rejects sequences longer than its position table", "[bert]") {
  BertModel model(tiny_options());
  CHECK_NOTHROW(model->forward(torch::zeros({1, 12}, torch::kLong)));
  try {
    model->forward(torch::zeros({1, 13}, torch::kLong));
    FAIL("no error");
  } catch (const c10::Error& e) {
    CHECK(std::string(e.what()).find("sequence length 13 exceeds max_position_embeddings 12") != std::string::npos);
  }
}

TEST_CASE("BERT presets follow the miniatures table", "[bert]") {
  struct Row { std::string name; int64_t layers, hidden, heads; };
  const std::vector<Row> table = {{"tiny", 2, 128, 2},   {"mini", 4, 256, 4},   {"small", 4, 512, 8},
                                  {"medium", 8, 512, 8}, {"base", 12, 768, 12}, {"large", 24, 1024, 16}};
  std::vector<std::string> names;
  for (const auto& row : table) {
    const BertOptions o = bert_preset(row.name, 1000);
    CHECK(o.vocab_size() == 1000);
    CHECK(o.num_hidden_layers() == row.layers);
    CHECK(o.hidden_size() == row.hidden);
    CHECK(o.num_attention_heads() == row.heads);
    CHECK(o.intermediate_size() == 4 * row.hidden);
    names.push_back(row.name);
  }
  for (const char* other : {"roberta-base", "distilbert-base", "electra-small-discriminator",
                            "electra-base-discriminator"}) {
    names.push_back(other);
  }
  CHECK(bert_preset_names() == names);
  CHECK(user_error_message([] { bert_preset("huge", 10); }) ==
        "model.preset: unknown preset 'huge' (known: tiny, mini, small, medium, base, large, roberta-base, "
        "distilbert-base, electra-small-discriminator, electra-base-discriminator)");
}

TEST_CASE("the RoBERTa, DistilBERT and ELECTRA presets have the published parameter counts", "[bert]") {
  // roberta-base 124.6M (vocab 50265, 514 positions), distilbert-base-uncased 66.4M,
  // electra-small-discriminator 13.5M (vocab 30522);
  // none of them has a pooler except RobertaModel.
  BertOptions roberta = bert_preset("roberta-base", 50265).max_position_embeddings(514);
  CHECK(roberta.model_type() == "roberta");
  CHECK(roberta.positions_from_padding());
  CHECK(bert_parameter_count(roberta) == 124645632);
  BertOptions distil = bert_preset("distilbert-base", 30522).add_pooling_layer(false);
  CHECK(distil.type_vocab_size() == 0);
  CHECK(bert_parameter_count(distil) == 66362880);
  BertOptions small = bert_preset("electra-small-discriminator", 30522).add_pooling_layer(false);
  CHECK(small.embedding_size() == 128);
  CHECK(bert_parameter_count(small) == 13483008);
  CHECK(bert_parameter_count(BertModel(small)->options()) == attune::models::parameter_count(*BertModel(small)));
}

TEST_CASE("BertOptions round-trip through Hugging Face config.json", "[bert]") {
  const BertOptions o = tiny_options().hidden_act("gelu_new").hidden_dropout_prob(0.2).layer_norm_eps(1e-5);
  const nlohmann::json j = bert_options_to_hf_json(o);
  CHECK(j.at("model_type") == "bert");
  CHECK(j.at("architectures") == nlohmann::json::array({"BertModel"}));
  CHECK(j.at("num_hidden_layers") == 2);
  const BertOptions back = bert_options_from_json(j, "config.json");
  CHECK(bert_options_to_hf_json(back) == j);

  // A real bert-base-uncased config.json, minus keys that do not matter here.
  const auto hf = nlohmann::json::parse(R"({"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
    "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768,
    "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
    "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
    "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0", "type_vocab_size": 2,
    "use_cache": true, "vocab_size": 30522})");
  const BertOptions base = bert_options_from_json(hf, "config.json");
  CHECK(base.hidden_size() == 768);
  CHECK(base.vocab_size() == 30522);
  CHECK(base.layer_norm_eps() == 1e-12);
}

TEST_CASE("bert_options_from_json names the offending key", "[bert]") {
  const nlohmann::json good = bert_options_to_hf_json(tiny_options());
  auto error_for = [&](const std::string& field, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[field] = value;
    return user_error_message([&] { bert_options_from_json(j, "cfg"); });
  };
  CHECK(error_for("num_attention_heads", 5) == "cfg.hidden_size: hidden_size 16 is not divisible by num_attention_heads 5");
  CHECK(error_for("hidden_size", 0) == "cfg.hidden_size: must be a positive integer, got 0");
  CHECK(error_for("num_hidden_layers", "2") == "cfg.num_hidden_layers: must be a positive integer, got \"2\"");
  CHECK(error_for("hidden_dropout_prob", 1.0) == "cfg.hidden_dropout_prob: must be in [0, 1), got 1.0");
  CHECK(error_for("attention_probs_dropout_prob", -0.1) ==
        "cfg.attention_probs_dropout_prob: must be in [0, 1), got -0.1");
  CHECK(error_for("hidden_act", "mish").rfind("cfg.hidden_act: unknown activation 'mish'", 0) == 0);
  CHECK(error_for("model_type", "gpt2") == "cfg.model_type: unsupported model_type 'gpt2' (supported: bert, roberta, "
                                          "xlm-roberta, camembert, distilbert, electra)");
  CHECK(error_for("position_embedding_type", "relative_key").rfind("cfg.position_embedding_type:", 0) == 0);
  CHECK(error_for("pad_token_id", 50) == "cfg.pad_token_id: pad_token_id 50 is not below vocab_size 50");
  CHECK(user_error_message([] { bert_options_from_json(nlohmann::json::array(), "cfg"); }).rfind("cfg: ", 0) == 0);
}

TEST_CASE("BertForMaskedLM has HF's keys, ties the decoder to the word embeddings and scores chosen rows", "[bert]") {
  torch::manual_seed(5);
  BertForMaskedLM model(tiny_options().num_hidden_layers(1));
  model->to(torch::kDouble);
  model->eval();
  const std::vector<std::string> names = parameter_names(*model);
  // BertForMaskedLM(config).state_dict() minus the tied cls.predictions.decoder.{weight,bias}.
  CHECK(names.front() == "bert.embeddings.word_embeddings.weight");
  CHECK(std::find(names.begin(), names.end(), "bert.pooler.dense.weight") == names.end());
  const std::vector<std::string> head(names.end() - 5, names.end());
  CHECK(head == std::vector<std::string>{"cls.predictions.bias", "cls.predictions.transform.dense.weight",
                                         "cls.predictions.transform.dense.bias",
                                         "cls.predictions.transform.LayerNorm.weight",
                                         "cls.predictions.transform.LayerNorm.bias"});
  auto p = model->named_parameters();
  {
    torch::NoGradGuard no_grad;
    p["cls.predictions.bias"].normal_();
  }
  const torch::Tensor ids = torch::randint(0, 40, {2, 5}, torch::kLong);  // ids >= 40 never appear
  const torch::Tensor hidden = model->bert->forward(ids).last_hidden_state;
  const torch::Tensor transformed = layer_norm_ref(
      torch::gelu(torch::matmul(hidden, p["cls.predictions.transform.dense.weight"].t()) +
                  p["cls.predictions.transform.dense.bias"]),
      p["cls.predictions.transform.LayerNorm.weight"], p["cls.predictions.transform.LayerNorm.bias"], 1e-12);
  const torch::Tensor expected =
      torch::matmul(transformed, p["bert.embeddings.word_embeddings.weight"].t()) + p["cls.predictions.bias"];
  const torch::Tensor logits = model->forward(ids);
  CHECK(logits.sizes() == torch::IntArrayRef{2, 5, 50});
  CHECK(torch::allclose(logits, expected, 1e-10, 1e-10));
  const torch::Tensor rows = torch::tensor({1, 7}, torch::kLong);
  CHECK(torch::allclose(model->forward(ids, {}, {}, rows), logits.flatten(0, 1).index_select(0, rows), 1e-10, 1e-10));

  // The decoder shares the embedding matrix: the score of token 45, never an input,
  // still sends a gradient to its embedding row.
  model->zero_grad();
  model->forward(ids, {}, {}, rows).select(1, 45).sum().backward();
  CHECK(p["bert.embeddings.word_embeddings.weight"].grad()[45].abs().sum().item<double>() > 0);
}
