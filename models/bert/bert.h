// BERT encoder whose named_parameters() equal Hugging Face BertModel's state_dict keys
// one-to-one ("embeddings.*", "encoder.layer.N.*", "pooler.dense.*"), so checkpoints
// move between the two by name. Pre-LN models add "encoder.final_layer_norm.*".
#pragma once
#include "models/bert/options.h"
#include "models/bert/presets.h"
#include "models/common/hf_module_paths.h"
#include "models/common/positions_after_prefix.h"
#include "models/text_encoder.h"
#include "models/transformer/activation.h"
#include "models/transformer/encoder_layer.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::models {

class BertEmbeddingsImpl : public torch::nn::Module, public PositionsAfterPrefix {
 public:
  explicit BertEmbeddingsImpl(const BertOptions& options);
  // input_ids, token_type_ids (B,T) -> (B,T,H), at positions past_length .. past_length+T-1
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids);
  void set_past_length(int64_t past_length) override { past_length_ = past_length; }
  int64_t past_length() const { return past_length_; }

  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};
  torch::nn::Embedding token_type_embeddings{nullptr};  // none when type_vocab_size is 0 (DistilBERT)
  torch::nn::LayerNorm layer_norm{nullptr};  // registered as "LayerNorm"
  torch::nn::Dropout dropout{nullptr};

 private:
  int64_t past_length_ = 0;
  bool positions_from_padding_ = false;
  int64_t pad_token_id_ = 0;
};
TORCH_MODULE(BertEmbeddings);

// DistilBERT's sinusoidal position table (positions, dim), as create_sinusoidal_embeddings.
torch::Tensor sinusoidal_position_table(int64_t positions, int64_t dim);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertOptions& options);
  // padding: (B,1,1,T) bool or undefined. context: (B, context_size) when the model has one.
  // Appends one (B,heads,T,T) tensor per layer to attentions when it is not null.
  torch::Tensor forward(torch::Tensor hidden, const torch::Tensor& padding, std::vector<torch::Tensor>* attentions,
                        const torch::Tensor& context = {});

  torch::nn::ModuleList layer{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};  // pre-LN only
  EncoderAttention extras;  // layer_fusion / relative_position_bias when configured

 private:
  std::vector<TransformerEncoderLayer> layers_;  // typed views of `layer`
};
TORCH_MODULE(BertEncoder);

// activation(dense(hidden[:, 0])): HF's BertPooler (tanh), and the first layers of
// RoBERTa's (tanh), ELECTRA's (gelu) and DistilBERT's (relu) classification heads.
class BertPoolerImpl : public torch::nn::Module {
 public:
  explicit BertPoolerImpl(int64_t hidden_size, const std::string& activation = "tanh");
  torch::Tensor forward(const torch::Tensor& hidden);
  Linear dense{nullptr};
  Activation activation() const { return activation_; }

 private:
  Activation activation_;
};
TORCH_MODULE(BertPooler);

struct BertOutput {
  torch::Tensor last_hidden_state;        // (B,T,H)
  torch::Tensor pooler_output;            // (B,H), undefined without a pooling layer
  std::vector<torch::Tensor> attentions;  // filled only if requested
};

class BertModelImpl : public TextEncoderImpl, public HfModulePaths {
 public:
  // preset only labels config() ("preset" key, for display); the sizes come from options.
  explicit BertModelImpl(const BertOptions& options, std::string preset = "");

  // input_ids (B,T); token_type_ids (B,T) or undefined (zeros); attention_mask (B,T) 1/0
  // or undefined (all tokens real).
  BertOutput forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids = {},
                     const torch::Tensor& attention_mask = {}, bool output_attentions = false,
                     const torch::Tensor& context = {});

  EncoderOutput encode(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                       const torch::Tensor& attention_mask, bool output_attentions,
                       const torch::Tensor& context = {}) override;
  int64_t context_size() const override { return options_.attention().context_size; }
  int64_t hidden_size() const override { return options_.hidden_size(); }
  nlohmann::json config() const override;
  const BertOptions& options() const { return options_; }
  // DistilBERT's names for its layers ("transformer.layer.0.attention.q_lin"), for PEFT.
  std::string hf_module_path(const std::string& path) const override;

  BertEmbeddings embeddings{nullptr};
  Linear embeddings_project{nullptr};  // ELECTRA with embedding_size != hidden_size
  BertEncoder encoder{nullptr};
  BertPooler pooler{nullptr};  // only with add_pooling_layer

 private:
  void init_weights();

  BertOptions options_;
  std::string preset_;
};
TORCH_MODULE(BertModel);

}  // namespace attune::models
