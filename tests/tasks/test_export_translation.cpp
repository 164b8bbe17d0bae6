// Translation bundles: the scripted encoder-decoder (encode / init_cache / decode_step)
// against attune's model for every layout option, and search on it.
#include "tests/catch.h"

#include "models/seq2seq/script_export.h"
#include "models/seq2seq/transformer.h"
#include "tasks/translation/decoding.h"
#include "tasks/translation/export.h"

#include <torch/script.h>

#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace tr = attune::translation;
using attune::models::Seq2SeqOptions;
using attune::models::Seq2SeqTransformer;

namespace {

Seq2SeqTransformer model_with(const Seq2SeqOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  Seq2SeqTransformer m(options);
  torch::NoGradGuard no_grad;
  // Non-zero biases and output bias, so every tensor's export is exercised.
  for (auto& p : m->named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.1, 0.1);
  }
  m->final_logits_bias.uniform_(-0.5, 0.5);
  m->eval();
  return m;
}

// The module after a save / load round trip, as a service gets it.
torch::jit::Module round_trip(Seq2SeqTransformer& model) {
  attune::script::ClassNames names;
  torch::jit::Module module = attune::models::script_seq2seq(*model, names);
  std::stringstream buffer;
  module.save(buffer);
  return torch::jit::load(buffer);
}

torch::Tensor random_ids(int64_t rows, int64_t length, int64_t vocab, const std::vector<int64_t>& lengths) {
  torch::Tensor ids = torch::randint(3, vocab, {rows, length}, torch::kLong);
  for (int64_t r = 0; r < rows; ++r) {
    if (lengths[r] < length) ids[r].slice(0, lengths[r]).fill_(0);
  }
  return ids;
}

tr::DecodeOptions decode(int64_t beam) {
  tr::DecodeOptions o;
  o.beam_size = beam;
  o.bos_id = 1;
  o.eos_id = 2;
  o.pad_id = 0;
  o.max_length_ratio = 1.0;
  o.max_length_extra = 5;
  return o;
}

}  // namespace

TEST_CASE("a scripted encoder-decoder gives attune's logits through its cache, at any batch size and length",
          "[export][translation]") {
  const int64_t vocab = 40;
  struct Variant {
    const char* name;
    Seq2SeqOptions options;
  };
  const Seq2SeqOptions base = Seq2SeqOptions(vocab).d_model(32).encoder_layers(2).decoder_layers(2).num_heads(4)
                                  .ffn_dim(48).max_positions(40);
  const std::vector<Variant> variants = {
      {"post-LN, shared, tied, sinusoidal, relu", base},
      {"pre-LN, swish", Seq2SeqOptions(base).pre_layer_norm(true).activation("swish")},
      {"separate embeddings, lm_head, learned positions, gelu",
       Seq2SeqOptions(base).share_embeddings(false).tie_output(false).positions("learned").activation("gelu")},
      {"unscaled embeddings, 1 encoder layer, 3 decoder layers",
       Seq2SeqOptions(base).scale_embedding(false).encoder_layers(1).decoder_layers(3)},
  };
  for (const Variant& v : variants) {
    SECTION(v.name) {
      Seq2SeqTransformer model = model_with(v.options, 7);
      torch::jit::Module module = round_trip(model);
      torch::NoGradGuard no_grad;
      for (const auto& [rows, src_len, tgt_len] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
               {1, 3, 2}, {3, 9, 5}, {5, 17, 8}}) {
        std::vector<int64_t> lengths(rows, src_len);
        if (rows > 1) lengths[1] = std::max<int64_t>(1, src_len - 3);
        const torch::Tensor src = random_ids(rows, src_len, vocab, lengths);
        const torch::Tensor tgt = random_ids(rows, tgt_len, vocab, std::vector<int64_t>(rows, tgt_len));
        const torch::Tensor expected = model->forward(src, tgt);

        const auto encoded = module.get_method("encode")({src}).toTuple();
        const torch::Tensor memory = encoded->elements()[0].toTensor();
        CHECK((memory - model->encode(src).memory).abs().max().item<double>() < 1e-5);
        // Whole target at once, then the same through the cache in two pieces.
        auto cache = module.get_method("init_cache")({memory});
        const auto all = module.get_method("decode_step")({tgt, encoded->elements()[1], cache}).toTuple();
        CHECK((all->elements()[0].toTensor() - expected).abs().max().item<double>() < 1e-5);
        const int64_t half = tgt_len / 2;
        const auto first =
            module.get_method("decode_step")({tgt.slice(1, 0, half), encoded->elements()[1], cache}).toTuple();
        const auto second =
            module.get_method("decode_step")({tgt.slice(1, half), encoded->elements()[1], first->elements()[1]}).toTuple();
        const torch::Tensor stepped = torch::cat({first->elements()[0].toTensor(), second->elements()[0].toTensor()}, 1);
        CHECK((stepped - expected).abs().max().item<double>() < 1e-5);
      }
    }
  }
}

TEST_CASE("greedy and beam search on a scripted model find attune's tokens", "[export][translation]") {
  const int64_t vocab = 30;
  Seq2SeqTransformer model = model_with(Seq2SeqOptions(vocab).d_model(32).encoder_layers(2).decoder_layers(2)
                                            .num_heads(4).ffn_dim(48).max_positions(32).init_std(0.5),
                                        3);
  // No output bias and large weights, so what is decoded depends on the source.
  {
    torch::NoGradGuard no_grad;
    model->final_logits_bias.zero_();
  }
  torch::jit::Module module = round_trip(model);
  torch::manual_seed(5);
  const torch::Tensor src = random_ids(4, 8, vocab, {8, 3, 6, 5});
  for (int64_t beam : {1, 4}) {
    INFO("beam " << beam);
    tr::ScriptStepModel scripted(module, 32);
    const auto expected = tr::generate(model, src, decode(beam));
    CHECK(tr::generate(scripted, src, decode(beam)) == expected);
    std::set<std::vector<int64_t>> distinct(expected.begin(), expected.end());
    CHECK(distinct.size() > 1);  // the check is not vacuous
  }
}

TEST_CASE("sentences that join a running beam search end as they would have alone", "[export][translation][continuous]") {
  const int64_t vocab = 30;
  Seq2SeqTransformer model = model_with(Seq2SeqOptions(vocab).d_model(32).encoder_layers(2).decoder_layers(2)
                                            .num_heads(4).ffn_dim(48).max_positions(32).init_std(0.5),
                                        3);
  {
    torch::NoGradGuard no_grad;
    model->final_logits_bias.zero_();
  }
  torch::jit::Module module = round_trip(model);
  torch::manual_seed(11);
  const std::vector<int64_t> lengths = {8, 3, 6, 5, 9, 2};
  const torch::Tensor src = random_ids(6, 9, vocab, lengths);
  for (int64_t beam : {1, 4}) {
    INFO("beam " << beam);
    tr::ScriptStepModel alone(module, 32);
    REQUIRE(alone.can_join());
    std::vector<std::vector<int64_t>> expected;
    for (int64_t i = 0; i < 6; ++i) {
      expected.push_back(tr::beam_search(alone, src.slice(0, i, i + 1).slice(1, 0, lengths[i]), decode(beam))[0]);
    }
    // Sentences 0-1 start; 2 joins after two steps, 3-4 after four more (longer sources
    // than the running ones), 5 after the first ones may have ended.
    tr::ScriptStepModel shared(module, 32);
    tr::BeamSearch search(shared, decode(beam));
    std::map<int64_t, std::vector<int64_t>> got;
    int64_t steps = 0;
    const auto run = [&](int64_t n) {
      for (int64_t s = 0; s < n && search.open() > 0; ++s, ++steps) {
        for (auto& f : search.step()) got[f.id] = f.tokens;
      }
    };
    search.add(src.slice(0, 0, 2), {0, 1});
    run(2);
    search.add(src.slice(0, 2, 3).slice(1, 0, lengths[2]), {2});
    run(4);
    search.add(src.slice(0, 3, 5), {3, 4});
    run(7);
    search.add(src.slice(0, 5, 6).slice(1, 0, lengths[5]), {5});
    run(100);
    CHECK(search.open() == 0);
    REQUIRE(got.size() == 6);
    for (int64_t i = 0; i < 6; ++i) {
      INFO("sentence " << i);
      CHECK(got[i] == expected[static_cast<size_t>(i)]);
    }
    std::set<std::vector<int64_t>> distinct(expected.begin(), expected.end());
    CHECK(distinct.size() > 2);  // the sentences differ, so a mix-up would show
    // Sentences added after every other had ended start afresh.
    search.add(src.slice(0, 1, 2).slice(1, 0, lengths[1]), {7});
    run(100);
    CHECK(got[7] == expected[1]);
  }
}

TEST_CASE("decode_rows over rows at different steps gives each row's decode_step logits", "[export][translation][continuous]") {
  const int64_t vocab = 40;
  Seq2SeqTransformer model = model_with(Seq2SeqOptions(vocab).d_model(32).encoder_layers(1).decoder_layers(2)
                                            .num_heads(4).ffn_dim(48).max_positions(20).positions("learned"),
                                        5);
  torch::jit::Module module = round_trip(model);
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  const torch::Tensor a = random_ids(1, 7, vocab, {7}), b = random_ids(1, 4, vocab, {4});
  const torch::Tensor ta = random_ids(1, 6, vocab, {6}), tb = random_ids(1, 3, vocab, {3});
  // a decodes three tokens alone, then b joins; both go on together.
  tr::ScriptStepModel both(module, 20);
  both.start(a);
  std::vector<torch::Tensor> a_logits, b_logits;
  for (int64_t t = 0; t < 3; ++t) a_logits.push_back(both.next_logits(ta.slice(1, t, t + 1)));
  both.join(b);
  for (int64_t t = 0; t < 3; ++t) {
    const torch::Tensor logits = both.next_logits(torch::cat({ta.slice(1, 3 + t, 4 + t), tb.slice(1, t, t + 1)}));
    a_logits.push_back(logits.slice(0, 0, 1));
    b_logits.push_back(logits.slice(0, 1, 2));
  }
  const torch::Tensor expected_a = model->forward(a, ta).squeeze(0), expected_b = model->forward(b, tb).squeeze(0);
  CHECK((torch::cat(a_logits) - expected_a).abs().max().item<double>() < 1e-5);
  CHECK((torch::cat(b_logits) - expected_b).abs().max().item<double>() < 1e-5);
}
