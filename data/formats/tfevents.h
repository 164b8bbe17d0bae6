// TensorBoard's event files (events.out.tfevents.*), the subset that carries scalars.
// A file is a sequence of TFRecords: an 8-byte little-endian length, the masked CRC32C
// of those 8 bytes, the payload, and the masked CRC32C of the payload. Each payload is
// a serialized tensorflow.Event protobuf: wall_time (field 1, double), step (2, int64),
// and either file_version (3, string; the first event, "brain.Event:2") or summary
// (5, a Summary of repeated Value {tag (1, string), simple_value (2, float)}).
// The few fields are encoded by hand; tests/data/test_tfevents.cpp checks them byte for
// byte, and tools/parity/tensorboard_parity.py reads attune's files with TensorBoard.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attune::formats {

using Scalars = std::vector<std::pair<std::string, float>>;

struct TfEvent {
  double wall_time = 0.0;
  int64_t step = 0;
  std::string file_version;  // set on the first event of a file only
  Scalars scalars;
  std::string record;  // the whole framed record, as read
};

// CRC-32C (Castagnoli), and the rotated-and-offset form TFRecord stores.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

// One framed record holding `payload`.
std::string tf_record(const std::string& payload);
// The serialized Event payloads.
std::string file_version_event(double wall_time);
std::string scalars_event(double wall_time, int64_t step, const Scalars& scalars);

// Every event of a file. A bad CRC, a truncated record or an unreadable protobuf fails
// naming the file and the record's byte offset; a torn last record (a crash mid-append)
// is dropped when `allow_torn_tail`.
std::vector<TfEvent> read_tfevents(const std::string& path, bool allow_torn_tail = false);
std::vector<TfEvent> parse_tfevents(const std::string& bytes, const std::string& path, bool allow_torn_tail = false);

}  // namespace attune::formats
