#include "models/bert/presets.h"

#include "core/error.h"

namespace attune::models {
namespace {

struct Size {
  const char* name;
  int64_t layers;
  int64_t hidden;
  int64_t heads;
};

// Ordered smallest first, which is also the order error messages list them in.
constexpr Size kPresets[] = {
    {"tiny", 2, 128, 2},   {"mini", 4, 256, 4},     {"small", 4, 512, 8},
    {"medium", 8, 512, 8}, {"base", 12, 768, 12}, {"large", 24, 1024, 16},
};

}  // namespace

std::vector<std::string> bert_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

int64_t bert_parameter_count(const BertOptions& o) {
  const int64_t h = o.hidden_size(), i = o.intermediate_size();
  const int64_t embeddings = (o.vocab_size() + o.max_position_embeddings() + o.type_vocab_size()) * h + 2 * h;
  // q, k, v, output projections; two LayerNorms; the feed-forward pair.
  const int64_t layer = 4 * (h * h + h) + 2 * 2 * h + (h * i + i) + (i * h + h);
  return embeddings + o.num_hidden_layers() * layer + (o.pre_layer_norm() ? 2 * h : 0) +
         (o.add_pooling_layer() ? h * h + h : 0);
}

BertOptions bert_preset(const std::string& name, int64_t vocab_size, const std::string& where) {
  for (const auto& p : kPresets) {
    if (name == p.name) {
      return BertOptions()
          .vocab_size(vocab_size)
          .num_hidden_layers(p.layers)
          .hidden_size(p.hidden)
          .num_attention_heads(p.heads)
          .intermediate_size(4 * p.hidden);
    }
  }
  std::string known;
  for (const auto& n : bert_preset_names()) known += (known.empty() ? "" : ", ") + n;
  fail(where, "unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace attune::models
