#include "data/text/spm_model_proto.h"

#include "core/error.h"
#include "core/files.h"
#include "data/formats/protobuf_reader.h"

namespace attune::text {
namespace {

using formats::ProtoReader;

SpmPiece read_piece(const std::string& bytes, const std::string& where) {
  ProtoReader r(bytes, where);
  SpmPiece p;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) p.piece = r.bytes();
    else if (field == 2 && wire == 5) p.score = r.fixed32_float();
    else if (field == 3 && wire == 0) p.type = static_cast<int>(r.varint());
    else r.skip(wire);
  }
  return p;
}

void read_trainer_spec(const std::string& bytes, const std::string& where, SpmModelProto& out) {
  ProtoReader r(bytes, where);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 3 && wire == 0) out.model_type = static_cast<int>(r.varint());
    else if (field == 40 && wire == 0) out.unk_id = static_cast<int64_t>(r.varint());
    else r.skip(wire);
  }
}

void read_normalizer_spec(const std::string& bytes, const std::string& where, SpmModelProto& out) {
  ProtoReader r(bytes, where);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) out.normalizer_name = r.bytes();
    else if (field == 2 && wire == 2) out.precompiled_charsmap = r.bytes();
    else if (field == 3 && wire == 0) out.add_dummy_prefix = r.varint() != 0;
    else if (field == 4 && wire == 0) out.remove_extra_whitespaces = r.varint() != 0;
    else r.skip(wire);
  }
}

}  // namespace

SpmModelProto read_spm_model_proto(const std::string& path) {
  const std::string bytes = io::read_file(path);
  const std::string where = path + ": not a sentencepiece model";
  ProtoReader r(bytes, where);
  SpmModelProto out;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) out.pieces.push_back(read_piece(r.bytes(), where));
    else if (field == 2 && wire == 2) read_trainer_spec(r.bytes(), where, out);
    else if (field == 3 && wire == 2) read_normalizer_spec(r.bytes(), where, out);
    else r.skip(wire);
  }
  if (out.pieces.empty()) fail(where, "no pieces");
  return out;
}

}  // namespace attune::text
