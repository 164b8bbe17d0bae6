// Text for masked-LM pretraining: plain-text files with one paragraph (or document)
// per line, tokenized and packed into fixed-length blocks.
//
// Packing follows Hugging Face run_mlm.py's group_texts rather than its line_by_line
// mode: the paragraphs' pieces form one stream, each paragraph followed by [SEP], and
// the stream is cut into blocks of max_length - 2 pieces, each framed as
// [CLS] ... [SEP]. No position is spent on padding (only the last block is short), and
// [SEP] still marks where a paragraph ends, so a block can span paragraph boundaries
// as BERT's own pretraining data does. Token type ids are all 0 (no next-sentence task).
#pragma once
#include "data/text/tokenizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attune::pretraining {

// Non-empty lines of a text file (trailing \r removed). Fails naming the file when it is
// missing, unreadable or holds no text.
std::vector<std::string> read_lines(const std::string& path);

class TokenBlocks {
 public:
  TokenBlocks() = default;
  // Tokenizes on `threads` threads (0 = every core); the result does not depend on it.
  TokenBlocks(const std::vector<std::string>& lines, const text::Tokenizer& tokenizer, int64_t max_length,
              int64_t threads = 0);

  int64_t size() const { return blocks_; }
  int64_t tokens() const { return static_cast<int64_t>(stream_.size()); }  // pieces, without [CLS]/[SEP] framing
  int64_t max_length() const { return max_length_; }
  // Length of block i with its [CLS] and [SEP].
  int64_t length(int64_t i) const;
  std::vector<int64_t> lengths() const;
  // int64 ids (B, T) of the given blocks, T = the longest, padded with pad_id; and the
  // matching attention mask.
  torch::Tensor ids(const std::vector<int64_t>& blocks) const;
  torch::Tensor attention_mask(const std::vector<int64_t>& blocks) const;

 private:
  std::vector<int32_t> stream_;
  int64_t max_length_ = 0, blocks_ = 0;
  int64_t cls_ = 0, sep_ = 0, pad_ = 0;
};

}  // namespace attune::pretraining
