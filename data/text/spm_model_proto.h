// The parts of a sentencepiece .model file (a serialized sentencepiece ModelProto) that
// rebuilding its tokenizer as a tokenizers pipeline needs: the pieces with their scores
// and types, the model type and the normalizer's charsmap. Read from the protobuf wire
// format directly, so no protobuf or sentencepiece library is involved.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attune::text {

struct SpmPiece {
  std::string piece;
  float score = 0;
  // sentencepiece's ModelProto.SentencePiece.Type: 1 normal, 2 unknown, 3 control,
  // 4 user defined, 5 unused, 6 byte.
  int type = 1;
};

struct SpmModelProto {
  std::vector<SpmPiece> pieces;
  int model_type = 1;  // TrainerSpec.ModelType: 1 unigram, 2 BPE, 3 word, 4 char
  std::string normalizer_name;
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  int64_t unk_id = 0;  // TrainerSpec.unk_id
};

// Fails with one line naming `path` when the file is not a sentencepiece model.
SpmModelProto read_spm_model_proto(const std::string& path);

}  // namespace attune::text
