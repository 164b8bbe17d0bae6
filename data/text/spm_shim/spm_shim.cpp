// A C interface over the sentencepiece library, built as its own shared object and
// loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by data/text/spm_library.cpp.
//
// Why: Debian's libsentencepiece embeds protobuf-lite 3.14 and exports its symbols,
// while Debian's LibTorch loads the system libprotobuf 3.21. Linked into one
// process, each binds to the other's protobuf and the process crashes at start-up
// (or aborts on the version check). Loading sentencepiece privately keeps the two
// protobuf copies apart; nothing but this file includes sentencepiece headers.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {
void copy_error(const std::string& message, char* error, int error_size) {
  if (error && error_size > 0) {
    std::strncpy(error, message.c_str(), static_cast<size_t>(error_size) - 1);
    error[error_size - 1] = '\0';
  }
}
// Ids outside the vocabulary reach protobuf's bounds CHECK inside IdToPiece, which throws
// (a corrupt model's unk_id of -1 did, found by tests/fuzz/sentencepiece).
bool valid_id(sentencepiece::SentencePieceProcessor* sp, int id) { return id >= 0 && id < sp->GetPieceSize(); }
}  // namespace

extern "C" {

// No C++ exception may leave a function of this C interface: it would cross into the
// caller's link namespace (its own libstdc++) and end the process. sentencepiece throws
// from inside Load for some corrupt models (darts_clone's "zero-length key", found by
// tests/fuzz/sentencepiece), so each entry point catches and reports instead.
void* attune_spm_load(const char* path, char* error, int error_size) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  try {
    const auto status = sp->Load(path);
    if (status.ok()) return sp;
    copy_error(status.ToString(), error, error_size);
  } catch (const std::exception& e) {
    copy_error(std::string("corrupt model: ") + e.what(), error, error_size);
  } catch (...) {
    copy_error("corrupt model", error, error_size);
  }
  delete sp;
  return nullptr;
}

void attune_spm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

// Writes up to `capacity` ids; returns the number of ids (call again with more room
// when it exceeds capacity), or -1 on error.
int64_t attune_spm_encode(void* handle, const char* text, int64_t length, int32_t* ids, int64_t capacity) {
  std::vector<int> out;
  try {
    if (!static_cast<sentencepiece::SentencePieceProcessor*>(handle)
             ->Encode(std::string(text, static_cast<size_t>(length)), &out)
             .ok()) {
      return -1;
    }
  } catch (...) {
    return -1;
  }
  for (size_t i = 0; i < out.size() && static_cast<int64_t>(i) < capacity; ++i) ids[i] = out[i];
  return static_cast<int64_t>(out.size());
}

// The pieces' surface strings (an unknown piece as the text it covers, as sentencepiece's
// EncodeAsPieces gives it), each followed by a NUL, into `out` (up to `capacity` bytes);
// returns the bytes needed (call again with more room when it exceeds capacity), or -1.
int64_t attune_spm_encode_pieces(void* handle, const char* text, int64_t length, char* out, int64_t capacity) {
  std::vector<std::string> pieces;
  try {
    if (!static_cast<sentencepiece::SentencePieceProcessor*>(handle)
             ->Encode(std::string(text, static_cast<size_t>(length)), &pieces)
             .ok()) {
      return -1;
    }
  } catch (...) {
    return -1;
  }
  std::string joined;
  for (const std::string& piece : pieces) joined.append(piece).push_back('\0');
  std::memcpy(out, joined.data(), std::min<size_t>(joined.size(), static_cast<size_t>(capacity)));
  return static_cast<int64_t>(joined.size());
}

// Detokenizes ids into `out` (up to `capacity` bytes, not NUL-terminated); returns the
// text's length (call again with more room when it exceeds capacity), or -1 on error.
int64_t attune_spm_decode(void* handle, const int32_t* ids, int64_t count, char* out, int64_t capacity) {
  std::string text;
  try {
    if (!static_cast<sentencepiece::SentencePieceProcessor*>(handle)
             ->Decode(std::vector<int>(ids, ids + count), &text)
             .ok()) {
      return -1;
    }
  } catch (...) {
    return -1;
  }
  std::memcpy(out, text.data(), std::min<size_t>(text.size(), static_cast<size_t>(capacity)));
  return static_cast<int64_t>(text.size());
}

// Detokenizes pieces given as strings, each followed by a NUL (`length` bytes in all), as
// DecodePieces does: a piece the model lacks comes out as it is written. Returns as
// attune_spm_decode does.
int64_t attune_spm_decode_pieces(void* handle, const char* joined, int64_t length, char* out, int64_t capacity) {
  std::vector<std::string> pieces;
  for (int64_t start = 0; start < length;) {
    const char* end = static_cast<const char*>(std::memchr(joined + start, '\0', static_cast<size_t>(length - start)));
    const int64_t stop = end ? end - joined : length;
    pieces.emplace_back(joined + start, static_cast<size_t>(stop - start));
    start = stop + 1;
  }
  std::string text;
  try {
    if (!static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Decode(pieces, &text).ok()) return -1;
  } catch (...) {
    return -1;
  }
  std::memcpy(out, text.data(), std::min<size_t>(text.size(), static_cast<size_t>(capacity)));
  return static_cast<int64_t>(text.size());
}

int32_t attune_spm_piece_size(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize();
}

// -1 when the piece is not in the vocabulary (sentencepiece itself answers unk_id).
int32_t attune_spm_piece_to_id(void* handle, const char* piece) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  try {
    const int id = sp->PieceToId(piece);
    if (!valid_id(sp, id)) return -1;
    return (id == sp->unk_id() && sp->IdToPiece(id) != piece) ? -1 : id;
  } catch (...) {
    return -1;
  }
}

// The pointer stays valid while the model is loaded; "" for an id outside the vocabulary.
const char* attune_spm_id_to_piece(void* handle, int32_t id) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  try {
    if (valid_id(sp, id)) return sp->IdToPiece(id).c_str();
  } catch (...) {
  }
  return "";
}

// kind: 0 unk, 1 bos, 2 eos, 3 pad; -1 when the model has none.
int32_t attune_spm_special_id(void* handle, int32_t kind) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  switch (kind) {
    case 0: return sp->unk_id();
    case 1: return sp->bos_id();
    case 2: return sp->eos_id();
    default: return sp->pad_id();
  }
}

// `args` is sentencepiece's trainer command line ("--input=... --model_prefix=...").
int attune_spm_train(const char* args, char* error, int error_size) {
  try {
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (status.ok()) return 0;
    copy_error(status.ToString(), error, error_size);
  } catch (const std::exception& e) {
    copy_error(e.what(), error, error_size);
  } catch (...) {
    copy_error("sentencepiece's trainer failed", error, error_size);
  }
  return 1;
}

}  // extern "C"
