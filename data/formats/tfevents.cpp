#include "data/formats/tfevents.h"

#include "core/error.h"
#include "core/files.h"
#include "data/formats/protobuf_reader.h"

#include <array>
#include <cstring>

namespace attune::formats {
namespace {

std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

void put_fixed(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | 2);
  put_varint(out, bytes.size());
  out += bytes;
}

void put_double(std::string& out, int field, double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, 8);
  put_varint(out, (static_cast<uint64_t>(field) << 3) | 1);
  put_fixed(out, bits, 8);
}

void put_float(std::string& out, int field, float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, 4);
  put_varint(out, (static_cast<uint64_t>(field) << 3) | 5);
  put_fixed(out, bits, 4);
}

// The event header every payload starts with. Proto3 leaves out a zero step, as
// TensorFlow's and TensorBoard's writers do.
std::string event_head(double wall_time, int64_t step) {
  std::string out;
  put_double(out, 1, wall_time);
  if (step != 0) {
    put_varint(out, 2 << 3);
    put_varint(out, static_cast<uint64_t>(step));
  }
  return out;
}


double as_double(uint64_t bits) {
  double value = 0;
  std::memcpy(&value, &bits, 8);
  return value;
}

float as_float(uint32_t bits) {
  float value = 0;
  std::memcpy(&value, &bits, 4);
  return value;
}

// Summary.Value: tag and simple_value; a value of another kind (images, tensors) is skipped.
void read_value(const std::string& bytes, const std::string& where, Scalars& scalars) {
  ProtoReader r(bytes, where);
  std::string tag;
  bool simple = false;
  float value = 0.0f;
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field == 1 && wire == 2) {
      tag = r.bytes();
    } else if (field == 2 && wire == 5) {
      value = as_float(static_cast<uint32_t>(r.fixed(4)));
      simple = true;
    } else {
      r.skip(wire);
    }
  }
  if (simple) scalars.emplace_back(tag, value);
}

TfEvent read_event(const std::string& payload, const std::string& where) {
  TfEvent event;
  ProtoReader r(payload, where);
  while (!r.done()) {
    const uint64_t key = r.varint();
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field == 1 && wire == 1) {
      event.wall_time = as_double(r.fixed(8));
    } else if (field == 2 && wire == 0) {
      event.step = static_cast<int64_t>(r.varint());
    } else if (field == 3 && wire == 2) {
      event.file_version = r.bytes();
    } else if (field == 5 && wire == 2) {
      const std::string summary = r.bytes();
      ProtoReader s(summary, where);
      while (!s.done()) {
        const uint64_t skey = s.varint();
        if ((skey >> 3) == 1 && (skey & 7) == 2) {
          read_value(s.bytes(), where, event.scalars);
        } else {
          s.skip(static_cast<int>(skey & 7));
        }
      }
    } else {
      r.skip(wire);
    }
  }
  return event;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = crc32c_table();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

std::string tf_record(const std::string& payload) {
  std::string out;
  put_fixed(out, payload.size(), 8);
  put_fixed(out, masked_crc32c(out.data(), 8), 4);
  out += payload;
  put_fixed(out, masked_crc32c(payload.data(), payload.size()), 4);
  return out;
}

std::string file_version_event(double wall_time) {
  std::string out = event_head(wall_time, 0);
  put_bytes(out, 3, "brain.Event:2");
  return out;
}

std::string scalars_event(double wall_time, int64_t step, const Scalars& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);
    put_float(v, 2, value);
    put_bytes(summary, 1, v);
  }
  std::string out = event_head(wall_time, step);
  put_bytes(out, 5, summary);
  return out;
}

std::vector<TfEvent> parse_tfevents(const std::string& bytes, const std::string& path, bool allow_torn_tail) {
  std::vector<TfEvent> events;
  size_t at = 0;
  while (at < bytes.size()) {
    const std::string where = path + ": record at byte " + std::to_string(at);
    const bool whole_header = bytes.size() - at >= 12;
    const uint64_t length = whole_header ? get_fixed(bytes, at, 8) : 0;
    if (whole_header && get_fixed(bytes, at + 8, 4) != masked_crc32c(bytes.data() + at, 8)) {
      fail(where, "bad length checksum (not a TensorBoard event file, or corrupt)");
    }
    if (!whole_header || length > bytes.size() - at - 12 || bytes.size() - at - 12 - length < 4) {
      if (allow_torn_tail) break;
      fail(where, "truncated record");
    }
    const std::string payload = bytes.substr(at + 12, length);
    if (get_fixed(bytes, at + 12 + length, 4) != masked_crc32c(payload.data(), payload.size())) {
      fail(where, "bad data checksum");
    }
    TfEvent event = read_event(payload, where);
    event.record = bytes.substr(at, 12 + length + 4);
    events.push_back(std::move(event));
    at += 12 + length + 4;
  }
  return events;
}

std::vector<TfEvent> read_tfevents(const std::string& path, bool allow_torn_tail) {
  return parse_tfevents(io::read_file(path), path, allow_torn_tail);
}

}  // namespace attune::formats
