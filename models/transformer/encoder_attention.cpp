#include "models/transformer/encoder_attention.h"

#include "core/error.h"
#include "core/config.h"

namespace attune::models {


const std::vector<std::string>& encoder_attention_fields() {
  static const std::vector<std::string> fields = {"attention_mask", "position_bias", "relative_max_distance",
                                                  "layer_fusion", "context_size"};
  return fields;
}

EncoderAttentionOptions encoder_attention_from_config(const nlohmann::json& cfg, const std::string& key) {
  EncoderAttentionOptions o;
  if (cfg.contains("attention_mask")) {
    o.mask = cfg.at("attention_mask");
    masks::MaskSpec(o.mask, key + ".attention_mask");  // checks it
  }
  o.position_bias = config::string_or(cfg, "position_bias", key, "none");
  if (o.position_bias != "none" && o.position_bias != "alibi" && o.position_bias != "relative") {
    fail(key + ".position_bias", "unknown bias '" + o.position_bias + "' (known: none, alibi, relative)");
  }
  o.relative_max_distance = config::int_or(cfg, "relative_max_distance", key, 1, 128);
  o.layer_fusion = config::bool_or(cfg, "layer_fusion", key, false);
  o.context_size = config::int_or(cfg, "context_size", key, 0, 0);
  return o;
}

void write_encoder_attention(const EncoderAttentionOptions& o, nlohmann::json& section) {
  if (!o.mask.is_null()) section["attention_mask"] = o.mask;
  if (o.position_bias != "none") section["position_bias"] = o.position_bias;
  if (o.position_bias == "relative") section["relative_max_distance"] = o.relative_max_distance;
  if (o.layer_fusion) section["layer_fusion"] = true;
  if (o.context_size > 0) section["context_size"] = o.context_size;
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
