// A BERT model with its tokenizer, loaded from either side of the Hugging Face bridge:
// "hf:DIR" (a transformers checkpoint folder) or an attune directory (a classification
// run, or an encoder directory that `attune convert --from-hf` or pretraining (any family) wrote:
// config.json's "model" section, tokenizer/, model.safetensors with "bert.*" and
// optionally "cls.predictions.*" tensors). Import, export and the parity dump all start here.
#pragma once
#include "data/text/tokenizer.h"
#include "models/bert/hf_checkpoint.h"

#include <torch/torch.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace attune::hf {

struct BertBundle {
  models::HfBertArchitecture architecture = models::HfBertArchitecture::kBertModel;
  // The encoder family (model.name): "bert" for the BERT body and the architectures it
  // stands for, whose sizes are in `options`; "modernbert" has them in model_section only.
  std::string family = "bert";
  nlohmann::json model_section;  // the run config's "model" section of the encoder
  models::BertOptions options;
  // classification::TextClassifierImpl ("bert.*", "classifier.*"), models::BertForMaskedLMImpl
  // ("bert.*", "cls.predictions.*") or models::BertModelImpl (bare encoder names): in each
  // case named_parameters() are the names transformers uses for that architecture. For
  // ModernBERT: TextClassifierImpl ("modernbert.*"), ModernBertForMaskedLMImpl or
  // ModernBertModelImpl, renamed by models/modernbert/hf_names.h.
  std::shared_ptr<torch::nn::Module> module;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::vector<std::string> labels;  // sequence classification only
  double classifier_dropout = 0.1;
  int64_t max_length = 0;           // the tokenizer's truncation length, 0 if unknown
  std::string pooling = "cls";      // an attune classification run's head.pooling
};

// source: "hf:DIR" or an attune directory. notes (ignored tensors) go to `log`.
// encoder_only: load just the encoder (BertModel) from a classifier or masked LM.
BertBundle load_bert_bundle(const std::string& source, std::ostream& log, bool encoder_only = false);

// Forward outputs for the parity dump and tests: last_hidden_state, pooler_output (when
// the model has a pooler) and logits (heads only). The module's train/eval mode is kept.
struct BertForwardOutput {
  torch::Tensor last_hidden_state, pooler_output, logits;
};
BertForwardOutput bert_bundle_forward(BertBundle& bundle, const torch::Tensor& input_ids,
                                      const torch::Tensor& token_type_ids, const torch::Tensor& attention_mask);

}  // namespace attune::hf
