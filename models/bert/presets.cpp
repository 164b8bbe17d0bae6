#include "models/bert/presets.h"

#include "core/config.h"
#include "core/error.h"

namespace attune::models {
namespace {

struct Size {
  const char* name;
  int64_t layers;
  int64_t hidden;
  int64_t heads;
  const char* model_type = "bert";
  int64_t embedding = 0;  // ELECTRA's embedding_size
};

// BERT's ordered smallest first, which is also the order error messages list them in;
// then the shapes of the published RoBERTa, DistilBERT and ELECTRA discriminator bases
// (RoBERTa's: type vocab 1, pad id 1, LayerNorm eps 1e-5).
constexpr Size kPresets[] = {
    {"tiny", 2, 128, 2},
    {"mini", 4, 256, 4},
    {"small", 4, 512, 8},
    {"medium", 8, 512, 8},
    {"base", 12, 768, 12},
    {"large", 24, 1024, 16},
    {"roberta-base", 12, 768, 12, "roberta"},
    {"distilbert-base", 6, 768, 12, "distilbert"},
    {"electra-small-discriminator", 12, 256, 4, "electra", 128},
    {"electra-base-discriminator", 12, 768, 12, "electra", 768},
};

}  // namespace

std::vector<std::string> bert_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

int64_t bert_parameter_count(const BertOptions& o) {
  const int64_t h = o.hidden_size(), i = o.intermediate_size(), e = embedding_width(o);
  const int64_t embeddings = (o.vocab_size() + o.max_position_embeddings() + o.type_vocab_size()) * e + 2 * e +
                             (e != h ? e * h + h : 0);
  // q, k, v, output projections; two LayerNorms; the feed-forward pair.
  const int64_t layer = 4 * (h * h + h) + 2 * 2 * h + (h * i + i) + (i * h + h);
  return embeddings + o.num_hidden_layers() * layer + (o.pre_layer_norm() ? 2 * h : 0) +
         (o.add_pooling_layer() ? h * h + h : 0);
}

BertOptions bert_preset(const std::string& name, int64_t vocab_size, const std::string& where) {
  for (const auto& p : kPresets) {
    if (name == p.name) {
      BertOptions o = BertOptions()
                          .vocab_size(vocab_size)
                          .num_hidden_layers(p.layers)
                          .hidden_size(p.hidden)
                          .num_attention_heads(p.heads)
                          .intermediate_size(4 * p.hidden);
      apply_model_type(o, p.model_type, where);
      if (std::string(p.model_type) == "roberta") o.type_vocab_size(1).pad_token_id(1).layer_norm_eps(1e-5);
      if (p.embedding > 0) o.embedding_size(p.embedding);
      return o;
    }
  }
  fail(where, "unknown preset '" + name + "' (known: " + config::join(bert_preset_names()) + ")");
}

}  // namespace attune::models
