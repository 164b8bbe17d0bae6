#include "data/text/spm_library.h"

#include "core/error.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // dlmopen, dladdr
#endif
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace fs = std::filesystem;

namespace attune::text {
namespace {

struct Api {
  void* (*load)(const char*, char*, int);
  void (*free)(void*);
  int64_t (*encode)(void*, const char*, int64_t, int32_t*, int64_t);
  int64_t (*encode_pieces)(void*, const char*, int64_t, char*, int64_t);
  int64_t (*decode)(void*, const int32_t*, int64_t, char*, int64_t);
  int64_t (*decode_pieces)(void*, const char*, int64_t, char*, int64_t);
  int32_t (*piece_size)(void*);
  int32_t (*piece_to_id)(void*, const char*);
  const char* (*id_to_piece)(void*, int32_t);
  int32_t (*special_id)(void*, int32_t);
  int (*train)(const char*, char*, int);
};

constexpr const char* kShimName = "libattune_spm.so";

// The shim is looked for in $ATTUNE_SPM_SHIM; beside the file this code is in and in its
// attune/ folder (the build tree keeps libattune.so and the shim side by side; an install
// puts the shim in lib*/attune/ beside lib*/libattune.so, wherever the prefix is);
// beside the running executable and in its ../lib; and last in the build tree that
// produced this binary (test and fuzz executables in folders of their own).
std::vector<std::string> candidate_paths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("ATTUNE_SPM_SHIM")) paths.emplace_back(env);
  Dl_info self{};
  if (dladdr(reinterpret_cast<const void*>(&candidate_paths), &self) != 0 && self.dli_fname) {
    std::error_code ec;
    const fs::path file = fs::canonical(self.dli_fname, ec);
    if (!ec) {
      paths.push_back((file.parent_path() / kShimName).string());
      paths.push_back((file.parent_path() / "attune" / kShimName).string());
    }
  }
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    const fs::path dir = fs::path(exe).parent_path();
    paths.push_back((dir / kShimName).string());
    paths.push_back((dir.parent_path() / "lib" / kShimName).string());
  }
#ifdef ATTUNE_SPM_SHIM_PATH
  paths.emplace_back(ATTUNE_SPM_SHIM_PATH);
#endif
  return paths;
}

const Api& api() {
  static Api table{};
  static std::once_flag once;
  static std::string load_error;
  std::call_once(once, [] {
    void* lib = nullptr;
    std::string tried;
    for (const auto& path : candidate_paths()) {
      if (!fs::exists(path)) continue;
      lib = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib) break;
      tried += std::string(" ") + dlerror();
    }
    if (!lib) {
      load_error = std::string("cannot load ") + kShimName + " (set ATTUNE_SPM_SHIM to its path)" + tried;
      return;
    }
    auto sym = [&](const char* name) {
      void* p = dlsym(lib, name);
      if (!p) load_error = std::string(kShimName) + ": missing symbol " + name;
      return p;
    };
    table.load = reinterpret_cast<decltype(table.load)>(sym("attune_spm_load"));
    table.free = reinterpret_cast<decltype(table.free)>(sym("attune_spm_free"));
    table.encode = reinterpret_cast<decltype(table.encode)>(sym("attune_spm_encode"));
    table.encode_pieces = reinterpret_cast<decltype(table.encode_pieces)>(sym("attune_spm_encode_pieces"));
    table.decode = reinterpret_cast<decltype(table.decode)>(sym("attune_spm_decode"));
    table.decode_pieces = reinterpret_cast<decltype(table.decode_pieces)>(sym("attune_spm_decode_pieces"));
    table.piece_size = reinterpret_cast<decltype(table.piece_size)>(sym("attune_spm_piece_size"));
    table.piece_to_id = reinterpret_cast<decltype(table.piece_to_id)>(sym("attune_spm_piece_to_id"));
    table.id_to_piece = reinterpret_cast<decltype(table.id_to_piece)>(sym("attune_spm_id_to_piece"));
    table.special_id = reinterpret_cast<decltype(table.special_id)>(sym("attune_spm_special_id"));
    table.train = reinterpret_cast<decltype(table.train)>(sym("attune_spm_train"));
  });
  if (!load_error.empty()) fail("sentencepiece", load_error);
  return table;
}

// The shim's output functions write at most `capacity` items into `out` and return how
// many they need (-1 on error): called once with `guess` items of room, and again with
// exactly enough when that was too little. Returns the written items.
template <typename Buffer, typename Call>
Buffer grow_to_fit(size_t guess, const Call& call, const char* failure) {
  Buffer out(guess, typename Buffer::value_type{});
  int64_t n = call(out.data(), static_cast<int64_t>(out.size()));
  if (n > static_cast<int64_t>(out.size())) {
    out.resize(n);
    n = call(out.data(), n);
  }
  if (n < 0) fail("sentencepiece", failure);
  out.resize(n);
  return out;
}

}  // namespace

SpmModel::SpmModel(const std::string& path) {
  if (!fs::exists(path)) fail(path, "cannot open file");
  char error[512] = {0};
  handle_ = api().load(path.c_str(), error, sizeof(error));
  if (!handle_) fail(path, std::string("not a sentencepiece model: ") + error);
}

SpmModel::~SpmModel() {
  if (handle_) api().free(handle_);
}

std::vector<int64_t> SpmModel::encode(const std::string& text) const {
  const auto ids = grow_to_fit<std::vector<int32_t>>(text.size() + 8, [&](int32_t* out, int64_t capacity) {
    return api().encode(handle_, text.data(), static_cast<int64_t>(text.size()), out, capacity);
  }, "encoding failed");
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<std::string> SpmModel::encode_pieces(const std::string& text) const {
  const std::string joined = grow_to_fit<std::string>(text.size() * 4 + 16, [&](char* out, int64_t capacity) {
    return api().encode_pieces(handle_, text.data(), static_cast<int64_t>(text.size()), out, capacity);
  }, "encoding failed");
  std::vector<std::string> pieces;
  for (size_t start = 0; start < joined.size();) {
    const size_t end = joined.find('\0', start);
    pieces.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return pieces;
}

std::string SpmModel::decode_pieces(const std::vector<std::string>& pieces) const {
  std::string joined;
  for (const std::string& piece : pieces) joined.append(piece).push_back('\0');
  return grow_to_fit<std::string>(joined.size() + 16, [&](char* out, int64_t capacity) {
    return api().decode_pieces(handle_, joined.data(), static_cast<int64_t>(joined.size()), out, capacity);
  }, "decoding failed");
}

std::string SpmModel::decode(const std::vector<int64_t>& ids) const {
  for (int64_t id : ids) {
    if (id < 0 || id >= piece_size()) fail("sentencepiece", "cannot decode id " + std::to_string(id) + " (vocabulary of " + std::to_string(piece_size()) + ")");
  }
  const std::vector<int32_t> narrow(ids.begin(), ids.end());
  return grow_to_fit<std::string>(narrow.size() * 8 + 16, [&](char* out, int64_t capacity) {
    return api().decode(handle_, narrow.data(), static_cast<int64_t>(narrow.size()), out, capacity);
  }, "decoding failed");
}

int64_t SpmModel::piece_size() const { return api().piece_size(handle_); }
int64_t SpmModel::piece_to_id(const std::string& piece) const { return api().piece_to_id(handle_, piece.c_str()); }
std::string SpmModel::id_to_piece(int64_t id) const { return api().id_to_piece(handle_, static_cast<int32_t>(id)); }
int64_t SpmModel::unk_id() const { return api().special_id(handle_, 0); }
int64_t SpmModel::bos_id() const { return api().special_id(handle_, 1); }
int64_t SpmModel::eos_id() const { return api().special_id(handle_, 2); }
int64_t SpmModel::pad_id() const { return api().special_id(handle_, 3); }

void spm_train(const std::string& args, const std::string& where) {
  char error[512] = {0};
  if (api().train(args.c_str(), error, sizeof(error)) != 0) fail(where, std::string("sentencepiece training failed: ") + error);
}

}  // namespace attune::text
