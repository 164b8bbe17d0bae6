// TensorBoard event files: the framing and the protobuf bytes, checked against values
// derived by hand from the TFRecord and protobuf specifications.
#include "tests/catch.h"

#include "data/formats/tfevents.h"
#include "tests/common/errors.h"

#include <cstring>

using attune::formats::crc32c;
using attune::formats::masked_crc32c;
using attune::formats::parse_tfevents;
using attune::formats::scalars_event;
using attune::formats::tf_record;

TEST_CASE("CRC-32C matches the standard check value", "[tfevents]") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
  const uint32_t c = 0xE3069283u;
  CHECK(masked_crc32c("123456789", 9) == ((c >> 15) | (c << 17)) + 0xA282EAD8u);
}

TEST_CASE("a scalar event is the protobuf TensorBoard reads, byte for byte", "[tfevents]") {
  // Event{wall_time: 1.5, step: 3, summary{value{tag: "a", simple_value: 2.0}}}
  const std::string expected = std::string("\x09\x00\x00\x00\x00\x00\x00\xF8\x3F", 9) +  // field 1, fixed64 1.5
                               std::string("\x10\x03", 2) +                            // field 2, varint 3
                               std::string("\x2A\x0A\x0A\x08\x0A\x01" "a" "\x15\x00\x00\x00\x40", 12);
  CHECK(scalars_event(1.5, 3, {{"a", 2.0f}}) == expected);
  // Step 0 is left out, as proto3 writers do; a long step takes a multi-byte varint.
  CHECK(scalars_event(1.5, 0, {}).substr(9) == std::string("\x2A\x00", 2));
  CHECK(scalars_event(1.5, 300, {}).substr(9, 3) == std::string("\x10\xAC\x02", 3));
  CHECK(attune::formats::file_version_event(0.0).substr(9) == std::string("\x1A\x0D") + "brain.Event:2");
}

TEST_CASE("event records round-trip and report corruption with the file and offset", "[tfevents]") {
  const std::string file = tf_record(attune::formats::file_version_event(10.0)) +
                           tf_record(scalars_event(11.0, 5, {{"train/loss", 0.25f}, {"train/lr", 1e-3f}})) +
                           tf_record(scalars_event(12.0, 10, {{"valid/accuracy", 0.75f}}));
  const auto events = parse_tfevents(file, "ev");
  REQUIRE(events.size() == 3);
  CHECK(events[0].file_version == "brain.Event:2");
  CHECK(events[1].step == 5);
  CHECK(events[1].wall_time == 11.0);
  REQUIRE(events[1].scalars.size() == 2);
  CHECK(events[1].scalars[0] == std::make_pair(std::string("train/loss"), 0.25f));
  CHECK(events[1].scalars[1] == std::make_pair(std::string("train/lr"), 1e-3f));
  CHECK(events[2].scalars[0].first == "valid/accuracy");
  CHECK(events[0].record + events[1].record + events[2].record == file);

  // The length's 8 bytes are covered by their own checksum, the payload by another.
  std::string bad_length = file;
  bad_length[events[0].record.size()] ^= 1;
  CHECK(attune::testing::error_of([&] { parse_tfevents(bad_length, "ev"); }) ==
        "ev: record at byte " + std::to_string(events[0].record.size()) +
            ": bad length checksum (not a TensorBoard event file, or corrupt)");
  std::string bad_data = file;
  bad_data[bad_data.size() - 6] ^= 1;
  CHECK(attune::testing::error_of([&] { parse_tfevents(bad_data, "ev"); }).find("bad data checksum") != std::string::npos);

  // A crash mid-append leaves a torn last record: an error, or dropped on request.
  const std::string torn = file.substr(0, file.size() - 3);
  CHECK(attune::testing::error_of([&] { parse_tfevents(torn, "ev"); }).find("truncated record") != std::string::npos);
  CHECK(parse_tfevents(torn, "ev", /*allow_torn_tail=*/true).size() == 2);
}
