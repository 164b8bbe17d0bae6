// Sequence classification: any registered text encoder, a pooling step and a linear
// classifier. With "cls" pooling and a BERT encoder the parameter names are those of
// Hugging Face's BertForSequenceClassification ("bert.*", "classifier.*").
#pragma once
#include "models/common/linear.h"
#include "models/registry.h"

#include <torch/torch.h>

#include <string>

namespace attune::classification {

struct TextClassifierOptions {
  TextClassifierOptions(int64_t num_labels) : num_labels_(num_labels) {}
  TORCH_ARG(int64_t, num_labels);
  TORCH_ARG(std::string, pooling) = "cls";  // "cls": the encoder's pooler; "mean": masked mean of tokens
  TORCH_ARG(double, dropout) = 0.1;
};

class TextClassifierImpl : public torch::nn::Module {
 public:
  TextClassifierImpl(std::shared_ptr<models::TextEncoderImpl> encoder, const std::string& encoder_name,
                     const TextClassifierOptions& options);
  // Logits (B, num_labels).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& attention_mask);
  models::TextEncoderImpl& encoder() { return *encoder_; }
  const TextClassifierOptions& options() const { return options_; }
  models::LinearImpl& classifier() { return *classifier_; }

 private:
  TextClassifierOptions options_;
  std::shared_ptr<models::TextEncoderImpl> encoder_;
  torch::nn::Dropout dropout_{nullptr};
  models::Linear classifier_{nullptr};
};
TORCH_MODULE(TextClassifier);

}  // namespace attune::classification
