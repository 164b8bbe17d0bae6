#include "tasks/bundle/bundle.h"
#include "tasks/engine/run_dir.h"

#include "models/export/script_module.h"

#include "core/error.h"
#include "core/torch_error.h"
#include "core/files.h"
#include "data/io/sha256.h"
#include "core/config.h"
#include "data/text/tokenizer.h"
#include "tasks/engine/settings.h"
#include "tasks/engine/train_config.h"

#include <torch/script.h>
#include <torch/version.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;
using nlohmann::json;

#ifndef ATTUNE_VERSION
#define ATTUNE_VERSION "unknown"
#endif

namespace attune::bundle {
namespace {

std::string manifest_path(const std::string& dir) { return (fs::path(dir) / kManifest).string(); }

// A fresh directory "<parent>/.<name>.<tag>-XXXXXX" beside `target`: renames within one
// file system are atomic, across file systems they fail.
std::string make_sibling_dir(const fs::path& target, const std::string& tag) {
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string pattern = (parent / ("." + target.filename().string() + "." + tag + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    fail(target.string(), std::string("cannot create a temporary directory beside it: ") + std::strerror(errno));
  }
  return pattern;
}

void rename_or_fail(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail(to, std::string("cannot move into place: ") + std::strerror(errno));
}

json list_files(const fs::path& root) {
  json files = json::array();
  for (const auto& p : io::list_files(root.string())) {
    const std::string full = (root / p).string();
    files.push_back({{"path", p}, {"bytes", fs::file_size(full)}, {"sha256", io::sha256_file(full)}});
  }
  return files;
}

bool is_bundle(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(manifest_path(dir), ec)) return false;
  const json j = json::parse(io::read_file(manifest_path(dir)), nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.value("format", "") == kFormat;
}

const json& require(const json& object, const std::string& key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) fail(where, "missing key '" + key + "'");
  return object.at(key);
}

// A listed path must stay inside the bundle: no absolute paths, no "..".
std::string checked_relative(const std::string& path, const std::string& where) {
  const fs::path p(path);
  bool escapes = p.empty() || p.is_absolute();
  for (const auto& part : p) escapes = escapes || part == "..";
  if (escapes) fail(where, "file path '" + path + "' leaves the bundle directory");
  return path;
}

}  // namespace

std::string attune_version() { return ATTUNE_VERSION; }
std::string torch_version() { return TORCH_VERSION; }

json base_manifest(const std::string& task) {
  return {{"format", kFormat},
          {"format_version", kFormatVersion},
          {"task", task},
          {"attune_version", attune_version()},
          {"torch_version", torch_version()}};
}

void write_bundle(const std::string& out_dir, bool overwrite, json manifest,
                  const std::function<void(const std::string& dir)>& fill) {
  fs::path target = fs::path(out_dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "out/" names "out"
  if (target.empty() || target.filename() == "." || target.filename() == ".." || target == target.root_path()) {
    fail(out_dir, "give the bundle directory by its name (e.g. bundles/topics)");
  }
  std::error_code ec;
  const bool exists = fs::exists(target, ec);
  if (exists && !fs::is_directory(target)) fail(out_dir, "exists and is not a directory");
  const bool occupied = exists && !fs::is_empty(target);
  if (occupied && !overwrite) fail(out_dir, "exists and is not empty (use --overwrite to replace a bundle there)");
  if (occupied && !is_bundle(target.string())) {
    fail(out_dir, "exists and is not an attune bundle (no manifest.json of format attune-bundle); not replacing it");
  }
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string temp = make_sibling_dir(target, "tmp");
  try {
    fill(temp);
    manifest["files"] = list_files(temp);
    io::write_json_atomic((fs::path(temp) / kManifest).string(), manifest);
    ::chmod(temp.c_str(), 0755);  // mkdtemp makes it private to the user
    if (exists) {
      // rename() replaces an empty directory but not a full one: move the old one aside
      // (onto an empty placeholder), put the new one in place, then delete the old.
      const std::string old = make_sibling_dir(target, "old");
      rename_or_fail(target.string(), old);
      if (::rename(temp.c_str(), target.c_str()) != 0) {
        const int error = errno;
        ::rename(old.c_str(), target.c_str());
        fail(out_dir, std::string("cannot move into place: ") + std::strerror(error));
      }
      io::remove_tree(old);
    } else {
      rename_or_fail(temp, target.string());
    }
  } catch (...) {
    io::remove_tree(temp);
    throw;
  }
}

json verify_bundle(const std::string& dir) {
  if (!fs::is_directory(dir)) fail(dir, "bundle directory does not exist");
  const std::string path = manifest_path(dir);
  if (!fs::exists(path)) fail(dir, "not an attune bundle (no manifest.json)");
  const json manifest = io::read_json(path);
  if (!manifest.is_object()) fail(path, "must hold a JSON object");
  const json& format = require(manifest, "format", path);
  if (format != kFormat) fail(path, "format " + format.dump() + " is not \"" + std::string(kFormat) + "\"");
  const json& version = require(manifest, "format_version", path);
  if (!version.is_number_integer()) fail(path, "format_version must be an integer");
  if (version.get<int64_t>() > kFormatVersion) {
    fail(path, "format_version " + version.dump() + " is newer than this attune reads (" +
                   std::to_string(kFormatVersion) + "); update attune");
  }
  for (const char* key : {"task", "attune_version", "torch_version", "model", "inputs", "outputs"}) {
    require(manifest, key, path);
  }
  try {
    const std::string model_file = require(manifest.at("model"), "file", path + ": model").get<std::string>();
    const json& files = require(manifest, "files", path);
    if (!files.is_array()) fail(path, "files must be a list");
    bool model_listed = false;
    for (const auto& f : files) {
      const std::string where = path + ": files";
      const std::string rel = checked_relative(require(f, "path", where).get<std::string>(), where);
      const std::string expected = require(f, "sha256", where).get<std::string>();
      const std::string full = (fs::path(dir) / rel).string();
      if (!fs::is_regular_file(full)) fail(full, "missing (manifest.json lists it)");
      if (f.contains("bytes") && f["bytes"].get<uintmax_t>() != fs::file_size(full)) {
        fail(full, "has " + std::to_string(fs::file_size(full)) + " bytes, manifest.json says " + f["bytes"].dump() +
                       " (the bundle was changed or copied incompletely)");
      }
      if (io::sha256_file(full) != expected) {
        fail(full, "SHA-256 does not match manifest.json (the file is corrupted or was changed after export)");
      }
      model_listed = model_listed || rel == model_file;
    }
    if (!model_listed) fail(path, "files does not list the model file");
  } catch (const nlohmann::json::exception& e) {
    // A value of the wrong type (a number where a path belongs, ...).
    fail(path, std::string("invalid value: ") + e.what());
  }
  return manifest;
}

Bundle load_bundle(const std::string& dir) {
  Bundle b;
  b.dir = dir;
  b.manifest = verify_bundle(dir);
  const std::string model = bundle_path(b, b.manifest["model"]["file"].get<std::string>(), "model.file");
  const bool int8 = b.manifest["model"].value("dtype", "") == "int8-dynamic";
  try {
    // Packed int8 weights are re-packed on load for the engine selected then.
    if (int8) script::use_int8_engine();
    b.module = torch::jit::load(model, torch::Device(torch::kCPU));
  } catch (const std::exception& e) {
    // c10::Error for bad archives, other std::exceptions from the TorchScript compiler:
    // one line naming the file either way.
    fail(model, "cannot load the TorchScript model: " + error_reason(e));
  }
  b.module.eval();
  return b;
}

Bundle load_bundle(const std::string& dir, const std::string& task) {
  Bundle b = load_bundle(dir);
  if (manifest_key(b, "task") != task) fail(manifest_path(dir), "task " + b.manifest["task"].dump() + " is not " + task);
  b.config = io::read_json(engine::RunDir(dir).config());
  return b;
}

torch::Device place_bundle(Bundle& bundle, const std::string& device_flag) {
  engine::apply_threads(engine::run_keys(bundle.config).threads);
  const torch::Device device = engine::run_device(bundle.config, device_flag);
  bundle.module.to(device);
  return device;
}

void write_run_bundle(const std::string& out_dir, bool overwrite, const json& manifest, const torch::jit::Module& module,
                      const std::string& run_dir) {
  write_bundle(out_dir, overwrite, manifest, [&](const std::string& dir) {
    module.save((fs::path(dir) / kModel).string());
    // A bundle keeps the run's config.json and tokenizer/ (text runs) under the run's names.
    const engine::RunDir run(run_dir), bundle(dir);
    if (fs::exists(run.tokenizer())) fs::copy(run.tokenizer(), bundle.tokenizer(), fs::copy_options::recursive);
    fs::copy_file(run.config(), bundle.config());
  });
}

json tokenizer_manifest(const text::Tokenizer& tokenizer, const std::string& run_dir) {
  const engine::RunDir run(run_dir);
  std::vector<std::string> files = io::list_files(run.tokenizer());
  for (auto& f : files) f = "tokenizer/" + f;
  return {{"kind", tokenizer.kind()},         {"dir", "tokenizer"},           {"files", files},
          {"pad_id", tokenizer.pad_id()},     {"cls_id", tokenizer.cls_id()}, {"sep_id", tokenizer.sep_id()},
          {"unk_id", tokenizer.unk_id()}};
}

ProbeBatch probe_batch(int64_t vocab_size, int64_t max_length) {
  const int64_t length = std::min<int64_t>(7, max_length);
  ProbeBatch p;
  p.ids = (torch::arange(2 * length, torch::kLong) * 7 + 3).remainder(vocab_size).view({2, length});
  p.mask = torch::ones({2, length}, torch::kLong);
  p.mask[1].narrow(0, length - 2, 2).zero_();
  p.types = torch::zeros({2, length}, torch::kLong);
  return p;
}

json files_summary(const std::string& bundle_dir) {
  const json written = io::read_json(manifest_path(bundle_dir));
  int64_t bytes = 0;
  for (const auto& f : written["files"]) bytes += f["bytes"].get<int64_t>();
  return {{"files", written["files"].size()}, {"bytes", bytes}};
}

torch::Tensor forward(Bundle& bundle, std::vector<c10::IValue> inputs) {
  try {
    return bundle.module.forward(std::move(inputs)).toTensor();
  } catch (const c10::Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    while (!what.empty() && what.back() == '\n') what.pop_back();
    TORCH_CHECK(false, bundle.dir, "/", kModel, ": ", what.substr(what.rfind('\n') + 1));
  }
}

const json& manifest_key(const Bundle& bundle, const std::string& key) {
  return require(bundle.manifest, key, manifest_path(bundle.dir));
}

std::string bundle_path(const Bundle& bundle, const std::string& relative, const std::string& key) {
  return (fs::path(bundle.dir) / checked_relative(relative, manifest_path(bundle.dir) + ": " + key)).string();
}

}  // namespace attune::bundle
