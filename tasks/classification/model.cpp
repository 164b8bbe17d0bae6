#include "tasks/classification/model.h"

#include "core/error.h"
#include "models/attention/attention_pool.h"

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
  if (const int64_t c = encoder_->context_size(); c > 0) {
    context_mean = register_buffer("context_mean", torch::zeros({c}));
    context_std = register_buffer("context_std", torch::ones({c}));
  }
  if (options_.pooling() == "attention") {
    // Zero: pooling starts as the masked mean and learns where to look.
    attention_query = register_parameter("attention_query", torch::zeros({encoder_->hidden_size()}));
  }
}

void TextClassifierImpl::set_context_stats(const torch::Tensor& context) {
  TORCH_CHECK(context_mean.defined() && context.dim() == 2 && context.size(1) == context_mean.size(0),
              "set_context_stats: expected (N, ", context_mean.defined() ? context_mean.size(0) : 0, ") values");
  torch::NoGradGuard no_grad;
  context_mean.copy_(context.mean(0));
  // A constant column gets a spread of 1 rather than a division by zero.
  const torch::Tensor spread = context.size(0) > 1 ? context.std(0) : torch::ones_like(context_mean);
  context_std.copy_(torch::where(spread > 1e-6, spread, torch::ones_like(spread)));
}

torch::Tensor TextClassifierImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                          const torch::Tensor& attention_mask, const torch::Tensor& context) {
  TORCH_CHECK(context.defined() == context_mean.defined(),
              context_mean.defined() ? "this model reads context columns, and the batch has none"
                                     : "the batch has context values, and this model reads none");
  const torch::Tensor standard = context.defined() ? (context.to(context_mean.device()) - context_mean) / context_std
                                                   : torch::Tensor();
  const models::EncoderOutput out = encoder_->encode(input_ids, token_type_ids, attention_mask, false, standard);
  const torch::Tensor real = attention_mask.defined() ? attention_mask : torch::ones_like(input_ids);
  torch::Tensor pooled;
  if (options_.pooling() == "cls") {
    TORCH_CHECK(out.pooled.defined(), "cls pooling needs an encoder with a pooler");
    pooled = out.pooled;
  } else if (options_.pooling() == "attention") {
    models::AttentionPoolOutput pool = models::attention_pool(
        out.hidden, real.to(torch::kBool), attention_query,
        models::AttentionPoolOptions()
            .temperature(options_.temperature())
            .entropy_weight(options_.entropy_weight())
            .entropy_target(options_.entropy_target()));
    pooled = pool.pooled;
    pooling_weights_ = pool.weights;
    regularizer_ = pool.regularizer;
  } else {
    const torch::Tensor mask = real.unsqueeze(-1).to(out.hidden.dtype());
    pooled = (out.hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  }
  return classifier_->forward(dropout_->forward(pooled));
}

}  // namespace attune::classification
