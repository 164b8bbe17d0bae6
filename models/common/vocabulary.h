// The embedding table's rows for a model section that may name its own vocab_size:
// transformers checkpoints often pad theirs past the tokenizer's last id (DeBERTa-v3's
// 128,100 rows for 128,001 tokens), and the rows must match the checkpoint.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace attune::models {

// section_vocab (null: the tokenizer's) when it is at least the tokenizer's; else
// fail(key + ".vocab_size", ...): ids past the table would index out of it.
int64_t embedding_rows(const std::optional<int64_t>& section_vocab, int64_t tokenizer_vocab, const std::string& key);

}  // namespace attune::models
