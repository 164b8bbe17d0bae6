#include "tasks/classification/model.h"

#include "data/error.h"

namespace attune::classification {

TextClassifierImpl::TextClassifierImpl(std::shared_ptr<models::TextEncoderImpl> encoder,
                                       const std::string& encoder_name, const TextClassifierOptions& options)
    : options_(options), encoder_(std::move(encoder)) {
  if (options_.pooling() != "cls" && options_.pooling() != "mean" && options_.pooling() != "attention") {
    fail("head.pooling", "unknown pooling '" + options_.pooling() + "' (known: cls, mean, attention)");
  }
  register_module(encoder_name, encoder_);
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout()));
  classifier_ = register_module("classifier", models::Linear(encoder_->hidden_size(), options_.num_labels()));
  // As BertForSequenceClassification initialises its classifier.
  torch::NoGradGuard no_grad;
  classifier_->weight.normal_(0.0, 0.02);
  classifier_->bias.zero_();
  if (options_.pooling() == "attention") {
    // Zero: pooling starts as the masked mean and learns where to look.
    attention_query = register_parameter("attention_query", torch::zeros({encoder_->hidden_size()}));
  }
}

torch::Tensor TextClassifierImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                          const torch::Tensor& attention_mask) {
  const models::EncoderOutput out = encoder_->encode(input_ids, token_type_ids, attention_mask, false);
  torch::Tensor pooled;
  if (options_.pooling() == "cls") {
    TORCH_CHECK(out.pooled.defined(), "cls pooling needs an encoder with a pooler");
    pooled = out.pooled;
  } else if (options_.pooling() == "attention") {
    const torch::Tensor real = attention_mask.to(torch::kBool);
    const torch::Tensor scores = torch::matmul(out.hidden.to(torch::kFloat), attention_query) / options_.temperature();
    const torch::Tensor weights = torch::softmax(scores.masked_fill(real.logical_not(), -1e9), 1);
    pooled = torch::matmul(weights.unsqueeze(1).to(out.hidden.dtype()), out.hidden).squeeze(1);
    pooling_weights_ = weights;
    regularizer_ = torch::Tensor();
    if (options_.entropy_weight() > 0.0) {
      const torch::Tensor entropy = -(weights * torch::log(weights.clamp_min(1e-12))).sum(1);
      const torch::Tensor most = torch::log(real.sum(1).to(torch::kFloat).clamp_min(2.0));
      regularizer_ = options_.entropy_weight() * (entropy / most - options_.entropy_target()).pow(2).mean();
    }
  } else {
    const torch::Tensor mask = attention_mask.unsqueeze(-1).to(out.hidden.dtype());
    pooled = (out.hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  }
  return classifier_->forward(dropout_->forward(pooled));
}

}  // namespace attune::classification
