// Sequence classification: any registered text encoder, a pooling step and a linear
// classifier. With "cls" pooling and a BERT encoder the parameter names are those of
// Hugging Face's BertForSequenceClassification ("bert.*", "classifier.*").
#pragma once
#include "models/common/hf_module_paths.h"
#include "models/common/linear.h"
#include "models/registry.h"

#include <torch/torch.h>

#include <functional>
#include <string>

namespace attune::classification {

struct TextClassifierOptions {
  TextClassifierOptions(int64_t num_labels) : num_labels_(num_labels) {}
  TORCH_ARG(int64_t, num_labels);
  // "cls": the encoder's pooler; "mean": masked mean of tokens; "attention": soft attention
  // pooling, a learned query scoring every real token, softmax at `temperature`.
  TORCH_ARG(std::string, pooling) = "cls";
  TORCH_ARG(double, dropout) = 0.1;
  TORCH_ARG(double, temperature) = 1.0;
  // Attention pooling: weight of (normalised entropy - entropy_target)^2 in the loss, which
  // keeps the weights from collapsing onto one token (entropy 0) or drifting to uniform (1).
  TORCH_ARG(double, entropy_weight) = 0.0;
  TORCH_ARG(double, entropy_target) = 0.5;
};

class TextClassifierImpl : public torch::nn::Module, public models::HfModulePaths {
 public:
  TextClassifierImpl(std::shared_ptr<models::TextEncoderImpl> encoder, const std::string& encoder_name,
                     const TextClassifierOptions& options);
  // Logits (B, num_labels). attention_mask: 1 = real token; undefined = no padding.
  // context: (B, encoder().context_size()) when the encoder reads one.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& attention_mask, const torch::Tensor& context = {});
  models::TextEncoderImpl& encoder() { return *encoder_; }
  const TextClassifierOptions& options() const { return options_; }
  models::LinearImpl& classifier() { return *classifier_; }
  // Attention pooling's entropy term of the latest forward (undefined otherwise).
  torch::Tensor regularizer() const { return regularizer_; }
  // (B, T) pooling weights of the latest forward with attention pooling.
  torch::Tensor pooling_weights() const { return pooling_weights_; }
  torch::Tensor attention_query;  // (H), attention pooling only
  // Context runs: the training set's mean and spread of each context column (buffers,
  // saved with the weights), so the encoder sees standardised values at every stage.
  void set_context_stats(const torch::Tensor& context);
  torch::Tensor context_mean, context_std;
  // How transformers' classifier names this model's submodules where the encoder family
  // sits elsewhere (ModernBERT's "model.*"), so PEFT target_modules written for transformers,
  // regular expressions included, select the same layers; unset: attune's names.
  void set_hf_module_paths(std::function<std::string(const std::string&)> rename) { hf_paths_ = std::move(rename); }
  std::string hf_module_path(const std::string& path) const override { return hf_paths_ ? hf_paths_(path) : path; }

 private:
  std::function<std::string(const std::string&)> hf_paths_;
  TextClassifierOptions options_;
  std::shared_ptr<models::TextEncoderImpl> encoder_;
  torch::nn::Dropout dropout_{nullptr};
  models::Linear classifier_{nullptr};
  torch::Tensor regularizer_, pooling_weights_;
};
TORCH_MODULE(TextClassifier);

}  // namespace attune::classification
