#include "tasks/classification/model.h"

#include "data/error.h"

namespace attune::classification {

TextClassifierImpl::TextClassifierImpl(std::shared_ptr<models::TextEncoderImpl> encoder,
                                       const std::string& encoder_name, const TextClassifierOptions& options)
    : options_(options), encoder_(std::move(encoder)) {
  if (options_.pooling() != "cls" && options_.pooling() != "mean") {
    fail("head.pooling", "unknown pooling '" + options_.pooling() + "' (known: cls, mean)");
  }
  register_module(encoder_name, encoder_);
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout()));
  classifier_ = register_module("classifier", models::Linear(encoder_->hidden_size(), options_.num_labels()));
  // As BertForSequenceClassification initialises its classifier.
  torch::NoGradGuard no_grad;
  classifier_->weight.normal_(0.0, 0.02);
  classifier_->bias.zero_();
}

torch::Tensor TextClassifierImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                          const torch::Tensor& attention_mask) {
  const models::EncoderOutput out = encoder_->encode(input_ids, token_type_ids, attention_mask, false);
  torch::Tensor pooled;
  if (options_.pooling() == "cls") {
    TORCH_CHECK(out.pooled.defined(), "cls pooling needs an encoder with a pooler");
    pooled = out.pooled;
  } else {
    const torch::Tensor mask = attention_mask.unsqueeze(-1).to(out.hidden.dtype());
    pooled = (out.hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  }
  return classifier_->forward(dropout_->forward(pooled));
}

}  // namespace attune::classification
