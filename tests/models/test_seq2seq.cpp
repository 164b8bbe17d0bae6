#include "tests/catch.h"

#include "core/error.h"
#include "models/seq2seq/config.h"
#include "models/seq2seq/transformer.h"
#include "tests/common/errors.h"

#include <set>

using attune::models::Seq2SeqOptions;
using attune::models::Seq2SeqTransformer;

namespace {

Seq2SeqOptions tiny(int64_t vocab = 40) {
  return Seq2SeqOptions(vocab).d_model(32).encoder_layers(2).decoder_layers(2).num_heads(4).ffn_dim(64).max_positions(64);
}

std::set<std::string> names_of(torch::nn::Module& m) {
  std::set<std::string> names;
  for (const auto& p : m.named_parameters()) names.insert(p.key());
  for (const auto& b : m.named_buffers()) names.insert(b.key());
  return names;
}

torch::Tensor random_ids(int64_t rows, int64_t cols, int64_t vocab, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(3, vocab, {rows, cols}, torch::kLong);
}

}  // namespace

TEST_CASE("sinusoidal positions use Marian's layout: sines first, cosines second", "[seq2seq]") {
  const torch::Tensor p = attune::models::sinusoidal_positions(4, 8);
  CHECK(p[0].slice(0, 0, 4).abs().max().item<float>() == 0.0f);
  CHECK(torch::allclose(p[0].slice(0, 4, 8), torch::ones({4})));
  CHECK(p[1][0].item<float>() == Approx(std::sin(1.0)));
  CHECK(p[1][4].item<float>() == Approx(std::cos(1.0)));
  CHECK(p[3][1].item<float>() == Approx(std::sin(3.0 / std::pow(10000.0, 2.0 / 8))));
  CHECK(p[3][5].item<float>() == Approx(std::cos(3.0 / std::pow(10000.0, 2.0 / 8))));
}

TEST_CASE("seq2seq parameters carry MarianMTModel's names, each tensor once", "[seq2seq]") {
  Seq2SeqTransformer shared(tiny());
  const auto names = names_of(*shared);
  for (const char* n : {"model.shared.weight", "model.encoder.embed_positions.weight",
                        "model.encoder.layers.1.self_attn.q_proj.weight", "model.encoder.layers.0.fc2.bias",
                        "model.encoder.layers.0.final_layer_norm.weight",
                        "model.decoder.layers.1.encoder_attn.k_proj.weight",
                        "model.decoder.layers.0.encoder_attn_layer_norm.bias",
                        "model.decoder.layers.0.self_attn.out_proj.weight", "final_logits_bias"}) {
    INFO(n);
    CHECK(names.count(n) == 1);
  }
  CHECK(names.count("lm_head.weight") == 0);
  CHECK(names.count("model.encoder.embed_tokens.weight") == 0);  // the shared one is registered once
  std::set<const void*> storages;
  for (const auto& p : shared->parameters()) CHECK(storages.insert(p.data_ptr()).second);

  Seq2SeqTransformer separate(tiny().share_embeddings(false).tie_output(false).pre_layer_norm(true));
  const auto other = names_of(*separate);
  for (const char* n : {"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight",
                        "model.encoder.layer_norm.weight", "model.decoder.layer_norm.bias"}) {
    INFO(n);
    CHECK(other.count(n) == 1);
  }
  CHECK(other.count("model.shared.weight") == 0);
  // init: transformers' N(0, 0.02) by default, Xavier (std sqrt(2 / (32 + 32)) = 0.18 here) on request.
  const auto q_std = [](Seq2SeqTransformer& m) {
    return m->named_parameters()["model.encoder.layers.0.self_attn.q_proj.weight"].std().item<double>();
  };
  CHECK(q_std(shared) == Approx(0.02).margin(0.003));
  CHECK(shared->model->shared->weight.std().item<double>() == Approx(0.02).margin(0.002));
  Seq2SeqTransformer xavier(tiny().init("xavier"));
  CHECK(q_std(xavier) == Approx(0.177).margin(0.02));
  // Sinusoidal positions are fixed; learned ones train.
  CHECK_FALSE(shared->model->encoder->embed_positions->weight.requires_grad());
  Seq2SeqTransformer learned(tiny().positions("learned"));
  CHECK(learned->model->decoder->embed_positions->weight.requires_grad());
}

TEST_CASE("the decoder is causal: a later target token never changes earlier outputs", "[seq2seq]") {
  for (bool pre_ln : {false, true}) {
    Seq2SeqTransformer model(tiny().pre_layer_norm(pre_ln));
    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor src = random_ids(2, 7, 40, 1);
    torch::Tensor tgt = random_ids(2, 9, 40, 2);
    const torch::Tensor a = model->forward(src, tgt);
    tgt.select(1, 5).fill_(7);
    const torch::Tensor b = model->forward(src, tgt);
    INFO("pre_ln " << pre_ln);
    CHECK(torch::allclose(a.slice(1, 0, 5), b.slice(1, 0, 5), 0.0, 1e-6));
    CHECK_FALSE(torch::allclose(a.slice(1, 5), b.slice(1, 5), 0.0, 1e-3));
  }
}

TEST_CASE("source padding is invisible: padded and unpadded sources give the same outputs", "[seq2seq]") {
  Seq2SeqTransformer model(tiny());
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor src = random_ids(1, 6, 40, 3);
  const torch::Tensor padded = torch::cat({src, torch::zeros({1, 4}, torch::kLong)}, 1);
  const torch::Tensor tgt = random_ids(1, 5, 40, 4);
  CHECK(torch::allclose(model->forward(src, tgt), model->forward(padded, tgt), 1e-5, 1e-5));
}

TEST_CASE("incremental decoding through the cache gives the logits of a full pass", "[seq2seq]") {
  Seq2SeqTransformer model(tiny());
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor src = random_ids(3, 8, 40, 5);
  const torch::Tensor tgt = random_ids(3, 10, 40, 6);
  const auto source = model->encode(src);
  const torch::Tensor full = model->project(model->decode(tgt, source));
  auto cache = model->new_cache();
  for (int64_t t = 0; t < tgt.size(1); ++t) {
    const torch::Tensor step = model->project(model->decode(tgt.slice(1, t, t + 1), source, &cache));
    INFO("position " << t);
    CHECK(torch::allclose(step.squeeze(1), full.select(1, t), 1e-5, 1e-5));
  }
  CHECK(cache.length == tgt.size(1));
}

TEST_CASE("seq2seq model configs: presets, overrides and clear errors", "[seq2seq][config]") {
  using attune::testing::error_of;
  nlohmann::json c = attune::models::seq2seq_default_config("transformer-base");
  const Seq2SeqOptions base = attune::models::seq2seq_options_from_config(c, 8000, 0, "model");
  CHECK(base.d_model() == 512);
  CHECK(base.encoder_layers() == 6);
  CHECK(base.num_heads() == 8);
  CHECK(base.ffn_dim() == 2048);
  c["num_heads"] = 16;
  c["pre_layer_norm"] = true;
  const Seq2SeqOptions changed = attune::models::seq2seq_options_from_config(c, 8000, 0, "model");
  CHECK(changed.num_heads() == 16);
  CHECK(changed.pre_layer_norm());
  // The resolved section rebuilds the same model.
  const nlohmann::json saved = attune::models::seq2seq_model_config(changed, "transformer-base");
  CHECK(attune::models::seq2seq_options_from_config(saved, 8000, 0, "model").num_heads() == 16);

  c = attune::models::seq2seq_default_config("transformer-huge");
  CHECK(error_of([&] { attune::models::seq2seq_options_from_config(c, 100, 0, "model"); }) ==
        "model.preset: unknown preset 'transformer-huge' (known: transformer-tiny, transformer-small, transformer-base)");
  c = attune::models::seq2seq_default_config("transformer-tiny");
  c["num_layer"] = 3;
  CHECK(error_of([&] { attune::models::seq2seq_options_from_config(c, 100, 0, "model"); }).rfind("model.num_layer", 0) == 0);
  c = attune::models::seq2seq_default_config("transformer-tiny");
  c["positions"] = "rotary";
  CHECK(error_of([&] { attune::models::seq2seq_options_from_config(c, 100, 0, "model"); }) ==
        "model.positions: unknown value 'rotary' (known: sinusoidal, learned)");
  c["positions"] = nullptr;
  c["init"] = "orthogonal";
  CHECK(error_of([&] { attune::models::seq2seq_options_from_config(c, 100, 0, "model"); }) ==
        "model.init: unknown value 'orthogonal' (known: normal, xavier)");
  c["init"] = nullptr;
  c["d_model"] = 30;
  CHECK(error_of([&] { attune::models::seq2seq_options_from_config(c, 100, 0, "model"); }) ==
        "model.d_model: d_model 30 is not divisible by num_heads 4");
}
