// Tiny Hugging Face BERT checkpoint folders (config.json, model.safetensors, vocab.txt,
// tokenizer_config.json, special_tokens_map.json), written the way transformers'
// save_pretrained lays them out, for the import/export tests.
#pragma once
#include "data/text/hf_tokenizer.h"
#include "models/bert/bert.h"
#include "models/bert/hf_checkpoint.h"
#include "models/bert/masked_lm.h"

#include <string>
#include <vector>

namespace attune::testing {

// The specials, then every word of write_topics_csv's texts (so runs can train on them).
inline std::vector<std::string> hf_fixture_vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", "\"", "quoted", "the", "a", "today", "we", "really",
          "liked", "some", "very", "new", "old", "bread", "cheese", "soup", "apple", "dinner", "bake", "goal", "match",
          "team", "score", "runner", "ball", "laptop", "code", "server", "chip", "network", "compiler", "caf", "##e",
          "中", "##s", "."};
}

inline models::BertOptions hf_fixture_options() {
  return models::BertOptions()
      .vocab_size(static_cast<int64_t>(hf_fixture_vocab().size()))
      .hidden_size(16)
      .num_hidden_layers(2)
      .num_attention_heads(2)
      .intermediate_size(32)
      .max_position_embeddings(40)
      .hidden_act("gelu");
}

// Every tensor moved off its initial value, so a swapped or skipped tensor shows.
inline void perturb(formats::NamedTensors& tensors) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : tensors) t = t.detach().clone().add_(torch::randn_like(t) * 0.2);
}

// Writes `dir` for `architecture` and returns the tensors written (HF names).
inline formats::NamedTensors write_hf_fixture(const std::string& dir, models::HfBertArchitecture architecture,
                                              models::BertOptions options = hf_fixture_options(),
                                              const std::vector<std::string>& labels = {"food", "sport", "tech"},
                                              uint64_t seed = 7) {
  torch::manual_seed(seed);
  formats::NamedTensors tensors;
  nlohmann::json extra = nlohmann::json::object();
  if (architecture == models::HfBertArchitecture::kMaskedLM) {
    tensors = formats::module_tensors(*models::BertForMaskedLM(options));
  } else {
    options.add_pooling_layer(true);
    const std::string prefix = architecture == models::HfBertArchitecture::kBertModel ? "" : "bert.";
    for (auto& [name, t] : formats::module_tensors(*models::BertModel(options))) tensors.emplace_back(prefix + name, t);
  }
  if (architecture == models::HfBertArchitecture::kSequenceClassification) {
    const int64_t n = static_cast<int64_t>(labels.size());
    tensors.emplace_back("classifier.weight", torch::randn({n, options.hidden_size()}) * 0.02);
    tensors.emplace_back("classifier.bias", torch::zeros({n}));
    extra["id2label"] = nlohmann::json::object();
    extra["label2id"] = nlohmann::json::object();
    for (int64_t i = 0; i < n; ++i) {
      extra["id2label"][std::to_string(i)] = labels[i];
      extra["label2id"][labels[i]] = i;
    }
  }
  perturb(tensors);
  models::write_hf_bert(dir, architecture, options, tensors, extra);
  text::WordPieceTokenizer tokenizer(hf_fixture_vocab(), text::WordPieceOptions(), "fixture");
  text::save_hf_bert_tokenizer(tokenizer, dir, 32);
  return tensors;
}

}  // namespace attune::testing
