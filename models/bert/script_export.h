// BERT-family encoders as TorchScript built from source (see models/export/script_module.h),
// for bundles that run without attune. The script repeats BertModelImpl::forward in
// eval mode op for op (the attention's math path), so outputs match attune's.
#pragma once
#include "models/bert/bert.h"
#include "models/export/script_module.h"

#include <torch/torch.h>

namespace attune::models {

// One encoder block: forward(x: Tensor, keep: Tensor) -> Tensor, with keep the bool
// (B,1,1,T) padding mask (true = real token). A prefix on its attention (prefix tuning)
// is exported as buffers prefix_key / prefix_value that every query sees.
// with_bias: forward takes an additive position bias (.,H,T,T) after keep. A layer with
// context-conditioned attention takes its (B, context_size) context last.
torch::jit::Module script_encoder_layer(TransformerEncoderLayerImpl& layer, script::ClassNames& names,
                                        bool with_bias = false);

// Lines mixing `outputs` (a List[Tensor] of every layer's (B,T,H) output) into `out`, as
// CrossLayerFusionImpl::forward (every encoder with layer_fusion: BERT, ViT).
std::string layer_fusion_lines(script::ScriptModuleBuilder& b, CrossLayerFusionImpl& fusion, const std::string& outputs,
                               const std::string& out);

// The whole encoder, with the model's current weights (float32):
//   forward(input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None)
//       -> Tensor   last hidden state (B,T,H); any B and T (T plus a prefix up to the
//                   position embeddings). With context-conditioned attention forward also
//                   takes context: Optional[Tensor]=None, (B, context_size), required.
//   pool(hidden: Tensor, attention_mask: Tensor) -> Tensor   act(dense(hidden[:, 0])), only
//                   with a pooler (act: the options' pooler_act: tanh, gelu for ELECTRA, relu
//                   for DistilBERT); the mask is unused, taken as every encoder's pool takes it
// Every model_type: RoBERTa's positions are computed from input_ids (pad_token_id + 1
// onwards); without token types (DistilBERT) token_type_ids is accepted and ignored;
// ELECTRA's embeddings_project follows the embeddings' LayerNorm.
// Active bottleneck adapters and prefixes are scripted as they are; merge other adapters first.
torch::jit::Module script_bert(BertModelImpl& model, script::ClassNames& names);

// The attribute of script_bert's module that holds the word embedding matrix (V,H): heads
// tied to it (the masked-LM decoder) read it there instead of storing a copy.
inline constexpr const char* kScriptBertWordEmbeddings = "embeddings_word_embeddings_weight";

}  // namespace attune::models
