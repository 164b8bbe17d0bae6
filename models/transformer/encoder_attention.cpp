#include "models/transformer/encoder_attention.h"

#include "core/error.h"
#include "core/schema.h"

namespace attune::models {


void EncoderAttentionOptions::describe(config::Schema<EncoderAttentionOptions>& s) {
  using O = EncoderAttentionOptions;
  s.json("attention_mask", &O::mask,
         [](const nlohmann::json& v, const std::string& path) { masks::MaskSpec(v, path); },
         "a mask spec (window, dilation, global tokens, ...) ANDed with the padding mask; null = padding only");
  s.choice("position_bias", &O::position_bias, {"none", "alibi", "relative"}, "a bias added to attention scores");
  s.integer("relative_max_distance", &O::relative_max_distance, 1, 1 << 20, "buckets of the relative position bias");
  s.boolean("layer_fusion", &O::layer_fusion, "mix every layer's output per position");
  s.integer("context_size", &O::context_size, 0, 1 << 20, "numeric context inputs that condition each layer's attention");
}

const std::vector<std::string>& encoder_attention_fields() {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> keys;
    for (const auto& f : config::schema_of<EncoderAttentionOptions>().fields()) keys.push_back(f.key);
    return keys;
  }();
  return fields;
}

void drop_default_encoder_attention(nlohmann::json& section) {
  const EncoderAttentionOptions o = config::parse<EncoderAttentionOptions>(section, "model", config::UnknownKeys::kIgnore);
  const nlohmann::json defaults = config::defaults<EncoderAttentionOptions>();
  for (const auto& key : encoder_attention_fields()) {
    if (section.contains(key) && section.at(key) == defaults.at(key)) section.erase(key);
  }
  // The distance means nothing without the relative bias.
  if (o.position_bias != "relative") section.erase("relative_max_distance");
}

bool is_encoder_attention_parameter(const std::string& name) {
  for (const std::string part : {"layer_fusion.", "relative_position_bias.", "attention.context."}) {
    const size_t at = name.find(part);
    if (at != std::string::npos && (at == 0 || name[at - 1] == '.')) return true;
  }
  return false;
}

EncoderAttention::EncoderAttention(const EncoderAttentionOptions& options, torch::nn::Module& owner,
                                   int64_t hidden_size, int64_t num_heads, int64_t num_layers)
    : options_(options), mask_(options.mask, "model.attention_mask"), num_heads_(num_heads) {
  if (options.position_bias == "relative") {
    relative_position_bias = owner.register_module(
        "relative_position_bias",
        RelativePositionBias(RelativePositionBiasOptions(num_heads, options.relative_max_distance)));
  }
  if (options.layer_fusion) {
    layer_fusion = owner.register_module("layer_fusion", CrossLayerFusion(CrossLayerFusionOptions(hidden_size, num_layers)));
  }
}

torch::Tensor EncoderAttention::mask_for(const torch::Tensor& padding, int64_t t, const torch::Device& device) {
  torch::Tensor allowed = padding;
  const torch::Tensor structure = mask_.build(t, t, device);
  if (structure.defined()) {
    allowed = allowed.defined() ? allowed.logical_and(structure) : structure;
    // Every position also sees itself, so no query is left without keys (a padded query
    // in a window of padding, or a spec that hides a whole row): such rows are the mean
    // of all values on the math path but zeros in fused CUDA kernels.
    allowed = allowed.logical_or(torch::eye(t, torch::TensorOptions().dtype(torch::kBool).device(device)));
  }
  torch::Tensor bias;
  if (options_.position_bias == "alibi") bias = masks::alibi_bias(num_heads_, t, t, device);
  if (relative_position_bias) bias = relative_position_bias->forward(t, t);
  if (!bias.defined()) return allowed;
  return masks::with_bias(allowed, bias.unsqueeze(0), torch::kFloat);
}

torch::Tensor EncoderAttention::run(const std::vector<TransformerEncoderLayer>& layers, torch::Tensor hidden,
                                    const torch::Tensor& mask, const torch::Tensor& context,
                                    std::vector<torch::Tensor>* attentions, torch::Tensor* fusion_weights) {
  std::vector<torch::Tensor> outputs;  // each layer checks the context against its own size
  for (TransformerEncoderLayer block : layers) {  // a holder: copying shares the module
    torch::Tensor weights;
    hidden = block->forward(hidden, mask, attentions != nullptr ? &weights : nullptr, context);
    if (attentions != nullptr) attentions->push_back(weights);
    if (layer_fusion) outputs.push_back(hidden);
  }
  return layer_fusion ? layer_fusion->forward(outputs, fusion_weights) : hidden;
}

}  // namespace attune::models
