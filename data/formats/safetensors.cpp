#include "data/formats/safetensors.h"

#include "core/error.h"
#include "core/files.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

// Tensor bytes are copied as they lie in memory; the format is little-endian.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O assumes a little-endian host"
#endif

namespace attune::formats {
namespace {

// The reference implementation's limit: a larger header is taken as corruption.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Caps the element count of a shape (ignoring zero dimensions) so that
// numel * element size fits in 64 bits and LibTorch's stride arithmetic cannot overflow.
constexpr uint64_t kMaxElements = 1ull << 60;

struct DType {
  const char* name;
  torch::ScalarType type;
  size_t size;
  // Position in the reference implementation's Dtype enum; its writer orders tensors
  // by this rank descending (then by name) so large-alignment data comes first.
  int rank;
};

const std::vector<DType>& dtypes() {
  static const std::vector<DType> table = {
      {"F64", torch::kFloat64, 8, 12}, {"F32", torch::kFloat32, 4, 11}, {"F16", torch::kFloat16, 2, 7},
      {"BF16", torch::kBFloat16, 2, 8}, {"I64", torch::kInt64, 8, 13},  {"I32", torch::kInt32, 4, 9},
      {"I16", torch::kInt16, 2, 5},     {"I8", torch::kInt8, 1, 2},      {"U8", torch::kUInt8, 1, 1},
      {"BOOL", torch::kBool, 1, 0}};
  return table;
}

const DType& dtype_of(torch::ScalarType type) {
  for (const auto& d : dtypes()) {
    if (d.type == type) return d;
  }
  TORCH_CHECK(false, "safetensors: unsupported dtype ", type);
}

const DType* dtype_named(const nlohmann::json& name) {
  if (!name.is_string()) return nullptr;
  for (const auto& d : dtypes()) {
    if (name.get_ref<const std::string&>() == d.name) return &d;
  }
  return nullptr;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < 5; ++i) out += (i ? ", '" : "'") + items[i] + "'";
  if (items.size() > 5) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

std::string describe(const torch::Tensor& t) {
  std::string s = std::string(dtype_of(t.scalar_type()).name) + " [";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// One line naming the file, e.g. "x.safetensors: corrupt safetensors file: tensor 'w': ...".
[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  fail(path, "corrupt safetensors file: " + what);
}

}  // namespace

std::string safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  NamedTensors sorted;
  sorted.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    TORCH_CHECK(name != "__metadata__", "safetensors: '__metadata__' is reserved and cannot name a tensor");
    sorted.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
    dtype_of(sorted.back().second.scalar_type());  // unsupported dtypes fail before anything is written
  }
  // The reference writer's order, so the same tensors give the same bytes as Hugging Face's.
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    const int ra = dtype_of(a.second.scalar_type()).rank, rb = dtype_of(b.second.scalar_type()).rank;
    return ra != rb ? ra > rb : a.first < b.first;
  });
  std::vector<std::string> names;
  for (const auto& [name, t] : sorted) names.push_back(name);
  std::sort(names.begin(), names.end());
  const auto duplicate = std::adjacent_find(names.begin(), names.end());
  if (duplicate != names.end()) TORCH_CHECK(false, "safetensors: duplicate tensor name '", *duplicate, "'");

  // ordered_json keeps the reference's key order: __metadata__ first, then tensors in
  // data order, each as dtype, shape, data_offsets.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype_of(t.scalar_type()).size;
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = dtype_of(t.scalar_type()).name;
    entry["shape"] = t.sizes().vec();
    entry["data_offsets"] = {offset, offset + bytes};
    header[name] = std::move(entry);
    offset += bytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // keeps the data block 8-byte aligned

  std::string out(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.reserve(8 + json.size() + offset);
  out += json;
  for (const auto& [name, t] : sorted) {
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * dtype_of(t.scalar_type()).size);
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  io::write_file_atomic(path, safetensors_bytes(tensors, metadata));
}

SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& path) {
  if (size < 8) fail(path, "not a safetensors file (shorter than 8 bytes)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
  if (header_len > kMaxHeaderBytes) {
    corrupt(path, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  }
  if (header_len > size - 8) {
    corrupt(path, "header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(size));
  }
  const nlohmann::json header = nlohmann::json::parse(data + 8, data + 8 + header_len, nullptr, false);
  if (header.is_discarded()) corrupt(path, "header is not valid JSON");
  if (!header.is_object()) corrupt(path, "header is not a JSON object");
  const uint64_t data_size = size - 8 - header_len;
  const uint8_t* block = data + 8 + header_len;

  SafetensorsFile file;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) corrupt(path, "__metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) corrupt(path, "metadata '" + m.key() + "' is not a string");
        file.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string tensor = "tensor '" + name + "': ";
    if (!entry.is_object()) corrupt(path, tensor + "entry is not an object");
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(key)) corrupt(path, tensor + "missing '" + key + "'");
    }
    const DType* dtype = dtype_named(entry["dtype"]);
    if (!dtype) {
      fail(path, "unsupported safetensors file: " + tensor + "unknown dtype " + entry["dtype"].dump() +
                     " (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
    }
    const nlohmann::json& shape_json = entry["shape"];
    if (!shape_json.is_array()) corrupt(path, tensor + "shape is not a list");
    std::vector<int64_t> shape;
    uint64_t numel = 1, nonzero_product = 1;
    for (const auto& d : shape_json) {
      if (!d.is_number_unsigned()) corrupt(path, tensor + "shape has a dimension " + d.dump() + ", not a non-negative integer");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > 0 && nonzero_product > kMaxElements / dim) corrupt(path, tensor + "shape " + shape_json.dump() + " is too large");
      if (dim > 0) nonzero_product *= dim;
      numel *= dim;
      shape.push_back(static_cast<int64_t>(dim));
    }
    const nlohmann::json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      corrupt(path, tensor + "data_offsets " + offsets.dump() + " is not [begin, end] of non-negative integers");
    }
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end) corrupt(path, tensor + "data_offsets " + offsets.dump() + " has begin after end");
    if (end > data_size) {
      corrupt(path, tensor + "data_offsets " + offsets.dump() + " reach past the data block of " +
                        std::to_string(data_size) + " bytes (file truncated?)");
    }
    if (end - begin != numel * dtype->size) {
      corrupt(path, tensor + "shape " + shape_json.dump() + " of " + dtype->name + " needs " +
                        std::to_string(numel * dtype->size) + " bytes, data_offsets give " + std::to_string(end - begin));
    }
    spans.push_back({begin, end, name});
    // Every check above bounds the copy by the file, so a corrupt header cannot make
    // us read out of bounds or allocate more than the file holds.
    const bool is_bool = dtype->type == torch::kBool;
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(is_bool ? torch::kUInt8 : dtype->type));
    if (end > begin) std::memcpy(t.data_ptr(), block + begin, end - begin);
    // A BOOL byte other than 0 or 1 is not a valid C++ bool; normalize instead of trusting it.
    file.tensors[name] = is_bool ? t.ne(0) : t;
  }

  // The reference reader requires the tensors to tile the data block exactly.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0 && spans[i].begin < spans[i - 1].end) {
      corrupt(path, "tensors '" + spans[i - 1].name + "' and '" + spans[i].name + "' overlap");
    }
    if (spans[i].begin > covered) {
      corrupt(path, "tensor '" + spans[i].name + "': data_offsets leave a gap of " +
                        std::to_string(spans[i].begin - covered) + " bytes before it");
    }
    covered = spans[i].end;
  }
  if (covered != data_size) {
    corrupt(path, std::to_string(data_size - covered) + " bytes after the last tensor belong to no tensor");
  }
  for (const auto& s : spans) file.names.push_back(s.name);
  return file;
}

SafetensorsFile load_safetensors(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open file: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, S_ISDIR(st.st_mode) ? "is a directory, expected a .safetensors file" : "not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, "not a safetensors file (shorter than 8 bytes)");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) fail(path, std::string("cannot map file: ") + std::strerror(errno));
  try {
    SafetensorsFile file = parse_safetensors(static_cast<const uint8_t*>(map), size, path);
    ::munmap(map, size);
    return file;
  } catch (...) {
    ::munmap(map, size);
    throw;
  }
}

NamedTensors module_tensors(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

namespace {

// Checks `file` against `module` and copies it in. every_model_tensor: the file must
// hold all of the module's tensors; every_file_tensor: each tensor in the file must be
// one of the module's.
void copy_into_module(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path,
                      bool every_model_tensor, bool every_file_tensor) {
  std::vector<std::string> missing, unexpected, mismatched;
  std::map<std::string, torch::Tensor> targets;
  for (const auto& [name, t] : module_tensors(module)) targets[name] = t;
  for (const auto& [name, target] : targets) {
    const auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != target.sizes() || it->second.scalar_type() != target.scalar_type()) {
      mismatched.push_back("'" + name + "': " + describe(it->second) + " in the file, " + describe(target) +
                           " in the model");
    }
  }
  for (const auto& [name, t] : file.tensors) {
    if (!targets.count(name)) unexpected.push_back(name);
  }
  const auto problem = [&](const std::vector<std::string>& names, const std::string& what) {
    fail(path, (names.size() == 1 ? "tensor " : "tensors ") + quoted_list(names) + ": " + what);
  };
  if (!mismatched.empty()) {
    std::string text = "tensor ";
    for (size_t i = 0; i < mismatched.size() && i < 5; ++i) text += (i ? "; " : "") + mismatched[i];
    if (mismatched.size() > 5) text += " (" + std::to_string(mismatched.size()) + " mismatches in all)";
    fail(path, text);
  }
  if (every_model_tensor && !missing.empty()) problem(missing, "missing from the file (the model expects them)");
  if (every_file_tensor && !unexpected.empty()) problem(unexpected, "in the file but not in the model");
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) {
    const auto it = file.tensors.find(name);
    if (it != file.tensors.end()) target.copy_(it->second);
  }
}

}  // namespace

void load_module_tensors(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path,
                         bool strict) {
  copy_into_module(module, file, path, /*every_model_tensor=*/true, /*every_file_tensor=*/strict);
}

void load_tensor_subset(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path) {
  copy_into_module(module, file, path, /*every_model_tensor=*/false, /*every_file_tensor=*/true);
}

}  // namespace attune::formats
