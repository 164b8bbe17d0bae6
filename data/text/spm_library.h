// The sentencepiece library, loaded privately at run time (see spm_shim/spm_shim.cpp
// for why it cannot be linked into a process that also loads Debian's LibTorch).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attune::text {

// One loaded .model file.
class SpmModel {
 public:
  // Fails with attune::UserError naming `path` when it is not a sentencepiece model.
  explicit SpmModel(const std::string& path);
  ~SpmModel();
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  std::vector<int64_t> encode(const std::string& text) const;
  // The pieces as strings; an unknown piece is the text it covers (EncodeAsPieces).
  std::vector<std::string> encode_pieces(const std::string& text) const;
  // Pieces back to text (control symbols such as pad and [SEP] decode to nothing).
  std::string decode(const std::vector<int64_t>& ids) const;
  // Pieces as strings back to text (DecodePieces): a piece the model lacks is kept as written.
  std::string decode_pieces(const std::vector<std::string>& pieces) const;
  int64_t piece_size() const;
  int64_t piece_to_id(const std::string& piece) const;  // -1 if absent
  std::string id_to_piece(int64_t id) const;
  int64_t unk_id() const;
  int64_t bos_id() const;  // -1 if none
  int64_t eos_id() const;
  int64_t pad_id() const;

 private:
  void* handle_ = nullptr;
};

// Runs sentencepiece's trainer with a command line such as
// "--input=corpus.txt --model_prefix=out/sp --vocab_size=8000"; fails with `where`.
void spm_train(const std::string& args, const std::string& where);

}  // namespace attune::text
