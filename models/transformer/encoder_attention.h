// The attention switches every encoder (BERT, ViT) takes from its model config, and the
// layer loop that applies them, so each switch works the same in every model:
//   "attention_mask": a MaskSpec (masks.h), ANDed with the padding mask; each position
//                     always sees itself as well
//   "position_bias": "none" | "alibi" | "relative" (+ "relative_max_distance")
//   "layer_fusion": true mixes every layer's output per position (layer_fusion.h)
//   "context_size": N > 0 conditions every layer's attention on a (B, N) context vector
#pragma once
#include "models/attention/layer_fusion.h"
#include "models/attention/masks.h"
#include "models/transformer/encoder_layer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::config {
template <typename T>
class Schema;
}

namespace attune::models {

// Typed, as a part of each encoder's model section (config::Schema::embed).
struct EncoderAttentionOptions {
  nlohmann::json mask;  // null: padding only
  std::string position_bias = "none";
  int64_t relative_max_distance = 128;
  bool layer_fusion = false;
  int64_t context_size = 0;
  static void describe(config::Schema<EncoderAttentionOptions>& s);
};

// The config keys above.
const std::vector<std::string>& encoder_attention_fields();
// Drops the switches left at their defaults from a written model section, keeping saved
// configs as short as those written before the switches existed.
void drop_default_encoder_attention(nlohmann::json& section);
// Parameter names these switches add ("layer_fusion.", "relative_position_bias." and each
// layer's "attention.context."): a checkpoint from before them (or from Hugging Face) lacks them.
bool is_encoder_attention_parameter(const std::string& name);

// Holds the switches' modules for one encoder and runs its layers with them.
class EncoderAttention {
 public:
  EncoderAttention() = default;
  // Registers "relative_position_bias" and "layer_fusion" on owner when configured.
  EncoderAttention(const EncoderAttentionOptions& options, torch::nn::Module& owner, int64_t hidden_size,
                   int64_t num_heads, int64_t num_layers);
  const EncoderAttentionOptions& options() const { return options_; }

  // attend()'s mask for T tokens: padding ((B,1,1,T) bool or undefined) AND the mask spec,
  // plus the position bias (then additive float32). Undefined when nothing applies.
  torch::Tensor mask_for(const torch::Tensor& padding, int64_t t, const torch::Device& device);
  // Runs `layers` over hidden (B,T,H). attentions, if given, receives each layer's weights;
  // fusion_weights the (B,T,L) layer-mixing weights when layer fusion is on.
  torch::Tensor run(const std::vector<TransformerEncoderLayer>& layers, torch::Tensor hidden, const torch::Tensor& mask,
                    const torch::Tensor& context, std::vector<torch::Tensor>* attentions,
                    torch::Tensor* fusion_weights = nullptr);

  RelativePositionBias relative_position_bias{nullptr};
  CrossLayerFusion layer_fusion{nullptr};

 private:
  EncoderAttentionOptions options_;
  masks::MaskSpec mask_;
  int64_t num_heads_ = 0;
};

}  // namespace attune::models
