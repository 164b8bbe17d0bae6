#include "models/peft/prefix/encoder.h"

namespace attune::peft {

PrefixEncoderImpl::PrefixEncoderImpl(const PrefixEncoderOptions& o) : options_(o) {
  TORCH_CHECK(o.num_virtual_tokens() > 0 && o.num_layers() > 0 && o.hidden_size() > 0,
              "PrefixEncoder: sizes must be positive");
  const int64_t table = o.num_layers() * 2 * o.hidden_size();
  if (o.prefix_projection()) {
    TORCH_CHECK(o.encoder_hidden_size() > 0, "PrefixEncoder: encoder_hidden_size must be positive");
    embedding = register_module("embedding", torch::nn::Embedding(o.num_virtual_tokens(), o.hidden_size()));
    transform_in = register_module("transform_in", models::Linear(o.hidden_size(), o.encoder_hidden_size()));
    transform_out = register_module("transform_out", models::Linear(o.encoder_hidden_size(), table));
    if (o.zero_init()) {
      torch::NoGradGuard no_grad;
      transform_out->weight.zero_();
      transform_out->bias.zero_();
    }
  } else {
    embedding = register_module("embedding", torch::nn::Embedding(o.num_virtual_tokens(), table));
    if (o.zero_init()) {
      torch::NoGradGuard no_grad;
      embedding->weight.zero_();
    }
  }
}

torch::Tensor PrefixEncoderImpl::forward() {
  const torch::Tensor& table = embedding->weight;
  if (!options_.prefix_projection()) return table;
  return transform_out->forward(torch::tanh(transform_in->forward(table)));
}

std::pair<torch::Tensor, torch::Tensor> PrefixEncoderImpl::layer(int64_t index) {
  TORCH_CHECK(index >= 0 && index < options_.num_layers(), "PrefixEncoder: no layer ", index);
  const int64_t h = options_.hidden_size();
  const torch::Tensor all = forward();
  return {all.narrow(1, 2 * index * h, h), all.narrow(1, (2 * index + 1) * h, h)};
}

void PrefixEncoderImpl::load_table(const torch::Tensor& prompt_embeddings) {
  const int64_t table = options_.num_layers() * 2 * options_.hidden_size();
  TORCH_CHECK(prompt_embeddings.dim() == 2 && prompt_embeddings.size(0) == options_.num_virtual_tokens() &&
                  prompt_embeddings.size(1) == table,
              "prompt_embeddings must be (", options_.num_virtual_tokens(), ", ", table, "), got ",
              prompt_embeddings.sizes());
  if (options_.prefix_projection()) {
    const torch::Device device = embedding->weight.device();
    unregister_module("transform_in");
    unregister_module("transform_out");
    transform_in = nullptr;
    transform_out = nullptr;
    unregister_module("embedding");
    embedding = register_module("embedding", torch::nn::Embedding(options_.num_virtual_tokens(), table));
    embedding->to(device);
    options_.prefix_projection(false);
  }
  torch::NoGradGuard no_grad;
  embedding->weight.copy_(prompt_embeddings);
}

}  // namespace attune::peft
