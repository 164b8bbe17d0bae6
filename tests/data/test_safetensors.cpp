#include "tests/catch.h"
#include "tests/common/errors.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "tests/common/synthetic.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using attune::testing::error_of;

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers from colliding with theirs.
namespace attune::safetensors_test {

namespace fs = std::filesystem;
namespace formats = attune::formats;
using attune::UserError;

namespace {

std::string le64(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

// A file from a header written by hand: length prefix, the header text as given, data.
std::string craft(const std::string& header, const std::string& data = "") { return le64(header.size()) + header + data; }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string bytes_of(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && bytes_of(a) == bytes_of(b);
}

std::string parse_error(const std::string& bytes) {
  return error_of([&] {
    formats::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.safetensors");
  });
}

formats::NamedTensors every_dtype() {
  torch::manual_seed(7);
  const auto f32 = torch::tensor({1.5f, -0.0f, std::numeric_limits<float>::infinity(), std::nanf(""), 1e-40f});
  return {
      {"f64", torch::randn({2, 3}, torch::kFloat64)},
      {"f32", f32},
      {"f16", torch::randn({4}).to(torch::kFloat16)},
      {"bf16", torch::randn({3, 1}).to(torch::kBFloat16)},
      {"i64", torch::tensor({std::numeric_limits<int64_t>::min(), int64_t{-1}, std::numeric_limits<int64_t>::max()})},
      {"i32", torch::randint(-1000, 1000, {2, 2}, torch::kInt32)},
      {"i16", torch::tensor({-32768, 0, 32767}, torch::kInt16)},
      {"i8", torch::tensor({-128, 5, 127}, torch::kInt8)},
      {"u8", torch::tensor({0, 200, 255}, torch::kUInt8)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.25)},
      {"empty", torch::empty({0}, torch::kFloat32)},
      {"empty_2d", torch::empty({2, 0, 3}, torch::kInt64)},
  };
}

struct Tiny : torch::nn::Module {
  Tiny(int in, int out) {
    linear = register_module("linear", torch::nn::Linear(in, out));
    scale = register_parameter("scale", torch::randn({out}));
    steps = register_buffer("steps", torch::zeros({1}, torch::kInt64));
  }
  torch::nn::Linear linear{nullptr};
  torch::Tensor scale, steps;
};

}  // namespace

TEST_CASE("safetensors round-trips every dtype bit for bit", "[safetensors]") {
  const std::string dir = attune::testing::temp_dir("safetensors-roundtrip");
  const std::string path = dir + "/all.safetensors";
  const auto tensors = every_dtype();
  formats::save_safetensors(path, tensors, {{"format", "pt"}, {"note", "hello"}});
  const auto file = formats::load_safetensors(path);
  REQUIRE(file.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(file.tensors.count(name));
    CHECK(same_bits(file.tensors.at(name), t));
  }
  CHECK(file.tensors.at("scalar").dim() == 0);
  CHECK(file.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"note", "hello"}});
  CHECK(file.names.size() == tensors.size());
  // Nothing but the file itself is left in the directory.
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
}

TEST_CASE("safetensors writes non-contiguous tensors in row-major order", "[safetensors]") {
  const auto t = torch::arange(6, torch::kInt32).reshape({2, 3}).t();
  const std::string bytes = formats::safetensors_bytes({{"t", t}});
  const auto file = formats::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  CHECK(torch::equal(file.tensors.at("t"), t));
  CHECK(bytes.substr(bytes.size() - 24) == bytes_of(t.contiguous()));
}

TEST_CASE("safetensors header matches the format byte for byte", "[safetensors]") {
  SECTION("one tiny tensor, padded with spaces to a multiple of 8") {
    const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";  // 54 bytes
    const std::string expected = std::string("\x38\0\0\0\0\0\0\0", 8) + header + "  " +
                                 std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);  // 1.0f, -2.0f
    CHECK(formats::safetensors_bytes({{"a", torch::tensor({1.0f, -2.0f})}}) == expected);
  }
  SECTION("a header that needs no padding") {
    const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
    REQUIRE(header.size() == 64);
    const auto t = torch::arange(6, torch::kFloat32).reshape({1, 2, 3});
    CHECK(formats::safetensors_bytes({{"attn.0", t}}) == le64(64) + header + bytes_of(t));
  }
  SECTION("no tensors, with and without metadata") {
    CHECK(formats::safetensors_bytes({}) == le64(8) + "{}      ");
    CHECK(formats::safetensors_bytes({}, {{"framework", "pt"}}) ==
          le64(40) + R"({"__metadata__":{"framework":"pt"}})" + "     ");
  }
  SECTION("tensors ordered by alignment, then name, with contiguous offsets") {
    const std::string bytes = formats::safetensors_bytes(
        {{"z", torch::zeros({1}, torch::kBool)}, {"b", torch::zeros({2}, torch::kFloat32)},
         {"a", torch::zeros({1}, torch::kInt64)}, {"c", torch::zeros({3}, torch::kFloat32)}});
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
    CHECK(n % 8 == 0);
    CHECK(bytes.size() == 8 + n + 8 + 8 + 12 + 1);
    const std::string header = bytes.substr(8, n);
    CHECK(header.find(R"("a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]})") != std::string::npos);
    CHECK(header.find(R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]})") != std::string::npos);
    CHECK(header.find(R"("c":{"dtype":"F32","shape":[3],"data_offsets":[16,28]})") != std::string::npos);
    CHECK(header.find(R"("z":{"dtype":"BOOL","shape":[1],"data_offsets":[28,29]})") != std::string::npos);
    const auto file = formats::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
    CHECK(file.names == std::vector<std::string>{"a", "b", "c", "z"});
  }
}

TEST_CASE("safetensors reads files written by other writers", "[safetensors]") {
  // Any key order, extra whitespace, metadata last, data not in name order.
  const std::string header = R"( { "w": {"data_offsets": [4, 6], "shape": [], "dtype": "I16"},
    "v": {"shape": [1], "dtype": "I32", "data_offsets": [0, 4]}, "__metadata__": {"k": "v"} } )";
  const std::string data = std::string("\x07\0\0\0", 4) + std::string("\xff\xff", 2);
  const std::string bytes = craft(header, data);
  const auto file = formats::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  CHECK(file.names == std::vector<std::string>{"v", "w"});
  CHECK(file.tensors.at("v").item<int32_t>() == 7);
  CHECK(file.tensors.at("w").item<int16_t>() == -1);
  CHECK(file.metadata.at("k") == "v");
}

TEST_CASE("safetensors normalizes BOOL bytes other than 0 and 1", "[safetensors]") {
  const std::string bytes = craft(R"({"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x00\x02\x01", 3));
  const auto file = formats::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  CHECK(bytes_of(file.tensors.at("b")) == std::string("\x00\x01\x01", 3));
}

TEST_CASE("safetensors rejects corrupt headers with one-line messages", "[safetensors]") {
  const auto entry = [](const std::string& body) { return R"({"t":)" + body + "}"; };
  const std::string four = std::string(4, '\0');
  struct Case {
    std::string bytes, expected;
  };
  const std::vector<Case> cases = {
      {"1234567", "shorter than 8 bytes"},
      {le64(200'000'000) + "{}", "exceeds the 100 MB limit"},
      {le64(100) + "{}", "exceeds the file size"},
      {craft("{\"t\": "), "not valid JSON"},
      {craft("[1, 2]"), "not a JSON object"},
      {craft(entry("[1]")), "tensor 't': entry is not an object"},
      {craft(entry(R"({"shape":[1],"data_offsets":[0,4]})"), four), "tensor 't': missing 'dtype'"},
      {craft(entry(R"({"dtype":"F32","data_offsets":[0,4]})"), four), "tensor 't': missing 'shape'"},
      {craft(entry(R"({"dtype":"F32","shape":[1]})"), four), "tensor 't': missing 'data_offsets'"},
      {craft(entry(R"({"dtype":"C64","shape":[1],"data_offsets":[0,4]})"), four), "unknown dtype \"C64\""},
      {craft(entry(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})"), four), "unknown dtype 7"},
      {craft(entry(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), four), "dimension -1"},
      {craft(entry(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})"), four), "dimension 1.5"},
      {craft(entry(R"({"dtype":"F32","shape":4,"data_offsets":[0,4]})"), four), "shape is not a list"},
      {craft(entry(R"({"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]})"), four),
       "is too large"},
      {craft(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})"), four), "is not [begin, end]"},
      {craft(entry(R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), four), "is not [begin, end]"},
      {craft(entry(R"({"dtype":"F32","shape":[0],"data_offsets":[4,0]})"), four), "begin after end"},
      {craft(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})"), four), "reach past the data block of 4"},
      {craft(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"), four), "needs 8 bytes, data_offsets give 4"},
      {craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
             std::string(8, '\0')),
       "tensors 'a' and 'b' overlap"},
      {craft(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, '\0')), "gap of 4 bytes"},
      {craft(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(6, '\0')),
       "2 bytes after the last tensor"},
      {craft(R"({"__metadata__":{"k":1}})"), "metadata 'k' is not a string"},
      {craft(R"({"__metadata__":[]})"), "__metadata__ is not an object"},
  };
  for (const auto& c : cases) {
    INFO(c.expected);
    const std::string message = parse_error(c.bytes);
    CHECK(message.rfind("bad.safetensors: ", 0) == 0);
    CHECK(message.find(c.expected) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("safetensors load names the file in its errors", "[safetensors]") {
  const std::string dir = attune::testing::temp_dir("safetensors-errors");
  CHECK(error_of([&] { formats::load_safetensors(dir + "/none.safetensors"); }).rfind(dir + "/none.safetensors: cannot open file", 0) == 0);
  CHECK(error_of([&] { formats::load_safetensors(dir); }).find("is a directory") != std::string::npos);
  write_bytes(dir + "/empty.safetensors", "");
  CHECK(error_of([&] { formats::load_safetensors(dir + "/empty.safetensors"); }).find("shorter than 8 bytes") !=
        std::string::npos);
  write_bytes(dir + "/short.safetensors", formats::safetensors_bytes({{"x", torch::ones({4})}}).substr(0, 30));
  CHECK(error_of([&] { formats::load_safetensors(dir + "/short.safetensors"); }).find(dir + "/short.safetensors: ") ==
        0);
}

TEST_CASE("safetensors survives random corruption: an error or a file, never a crash", "[safetensors][fuzz]") {
  const std::string valid = formats::safetensors_bytes(
      {{"weight", torch::randn({3, 4})}, {"bias", torch::zeros({4}, torch::kFloat16)}, {"ids", torch::arange(5)},
       {"mask", torch::ones({2}, torch::kBool)}, {"s", torch::tensor(1.0)}},
      {{"k", "v"}});
  uint64_t header_end = 8;
  for (int i = 7; i >= 0; --i) header_end += static_cast<uint64_t>(static_cast<uint8_t>(valid[i])) << (8 * i);
  std::mt19937 rng(1234);
  int errors = 0, successes = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = valid;
    const int kind = round % 3;
    if (kind == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      // Mostly the length prefix and header, where a flip changes the structure.
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        const size_t at = (rng() % 4 != 0) ? rng() % header_end : rng() % bytes.size();
        bytes[at] = kind == 1 ? static_cast<char>(bytes[at] ^ (1 << (rng() % 8))) : static_cast<char>(rng() % 256);
      }
    }
    try {
      const auto file = formats::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "f");
      for (const auto& [name, t] : file.tensors) CHECK(t.numel() * t.element_size() <= static_cast<int64_t>(bytes.size()));
      ++successes;
    } catch (const UserError& e) {
      ++errors;
    }
  }
  CHECK(errors > 1000);  // truncations alone give ~1000
  CHECK(successes > 0);  // flips in tensor data leave a valid file
}

TEST_CASE("module tensors round-trip through safetensors", "[safetensors][module]") {
  const std::string dir = attune::testing::temp_dir("safetensors-module");
  const std::string path = dir + "/model.safetensors";
  torch::manual_seed(1);
  auto saved = std::make_shared<Tiny>(3, 2);
  saved->steps.fill_(41);
  const auto tensors = formats::module_tensors(*saved);
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) names.push_back(name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"linear.bias", "linear.weight", "scale", "steps"});
  formats::save_safetensors(path, tensors);

  torch::manual_seed(2);
  auto loaded = std::make_shared<Tiny>(3, 2);
  REQUIRE_FALSE(torch::equal(loaded->linear->weight, saved->linear->weight));
  formats::load_module_tensors(*loaded, formats::load_safetensors(path), path);
  for (const auto& entry : formats::module_tensors(*loaded)) {
    const std::string& name = entry.first;  // not a structured binding: clang's C++17 lambdas cannot capture one
    const torch::Tensor& t = entry.second;
    INFO(name);
    const auto& original = std::find_if(tensors.begin(), tensors.end(), [&](const auto& p) { return p.first == name; })->second;
    CHECK(torch::equal(t, original));
  }
  CHECK(loaded->linear->weight.requires_grad());
  CHECK(loaded->steps.item<int64_t>() == 41);
}

TEST_CASE("loading into a module reports missing, unexpected and mismatched tensors", "[safetensors][module]") {
  Tiny model(3, 2);
  const auto file_from = [](const formats::NamedTensors& tensors) {
    formats::SafetensorsFile file;
    for (const auto& [name, t] : tensors) {
      file.names.push_back(name);
      file.tensors[name] = t;
    }
    return file;
  };
  formats::NamedTensors full = formats::module_tensors(model);
  const auto load = [&](const formats::NamedTensors& tensors, bool strict = true) {
    return error_of([&] { formats::load_module_tensors(model, file_from(tensors), "ckpt.safetensors", strict); });
  };

  auto missing = full;
  missing.erase(missing.begin());
  CHECK(load(missing) == "ckpt.safetensors: tensor '" + full.front().first + "': missing from the file (the model expects them)");

  auto extra = full;
  extra.emplace_back("head.weight", torch::zeros({2}));
  extra.emplace_back("head.bias", torch::zeros({2}));
  CHECK(load(extra) == "ckpt.safetensors: tensors 'head.bias', 'head.weight': in the file but not in the model");
  const auto before = model.scale.clone();
  for (auto& [name, t] : extra) {
    if (name == "scale") t = torch::full({2}, 9.0);
  }
  formats::load_module_tensors(model, file_from(extra), "ckpt.safetensors", /*strict=*/false);
  CHECK(torch::equal(model.scale, torch::full({2}, 9.0)));
  CHECK(load(missing, /*strict=*/false).find("missing from the file") != std::string::npos);

  auto reshaped = full;
  for (auto& [name, t] : reshaped) {
    if (name == "linear.weight") t = torch::zeros({3, 2});
  }
  CHECK(load(reshaped) == "ckpt.safetensors: tensor 'linear.weight': F32 [3, 2] in the file, F32 [2, 3] in the model");

  auto retyped = full;
  for (auto& [name, t] : retyped) {
    if (name == "steps") t = torch::zeros({1}, torch::kInt32);
  }
  CHECK(load(retyped) == "ckpt.safetensors: tensor 'steps': I32 [1] in the file, I64 [1] in the model");

  formats::NamedTensors many = {};
  for (int i = 0; i < 7; ++i) many.emplace_back("extra" + std::to_string(i), torch::zeros({1}));
  for (const auto& p : full) many.push_back(p);
  CHECK(load(many).find("'extra0', 'extra1', 'extra2', 'extra3', 'extra4', ... (7 in all)") != std::string::npos);
}

TEST_CASE("saving duplicate tensor names is a bug, not a file", "[safetensors]") {
  const std::string dir = attune::testing::temp_dir("safetensors-dup");
  CHECK_THROWS_AS(formats::save_safetensors(dir + "/d.safetensors", {{"a", torch::ones({1})}, {"a", torch::ones({2})}}),
                  c10::Error);
  CHECK_FALSE(fs::exists(dir + "/d.safetensors"));
}

}  // namespace attune::safetensors_test
