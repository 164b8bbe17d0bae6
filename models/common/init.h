// transformers' _init_weights for the BERT lineage (BERT, DeBERTa): every Linear and
// Embedding weight drawn from N(0, std), biases and padding rows zero, LayerNorms at one
// and zero.
#pragma once
#include <torch/torch.h>

namespace attune::models {

void init_bert_lineage_weights(torch::nn::Module& module, double std);

}  // namespace attune::models
