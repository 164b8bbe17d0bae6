// The bundle manifest (tasks/bundle/bundle.h): manifest.json, config.json and two payload
// files, checked as `attune serve` and `attune predict --bundle` check them before
// loading the model. With the first byte odd, the harness first writes the true size and
// SHA-256 of each listed file that exists into the manifest, so the fuzzer gets past the
// checksum to what follows it. TorchScript's own loader (LibTorch's code) is not fuzzed.
#include "core/error.h"
#include "core/files.h"
#include "data/io/sha256.h"
#include "tasks/bundle/bundle.h"
#include "tasks/registry.h"
#include "tests/fuzz/common.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace {

// Best effort: a manifest that does not parse or has odd entries is left as it is.
std::string with_true_checksums(const std::string& manifest, const fs::path& dir) {
  nlohmann::json j = nlohmann::json::parse(manifest, nullptr, false);
  if (!j.is_object() || !j.contains("files") || !j["files"].is_array()) return manifest;
  for (auto& f : j["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string()) continue;
    const std::string rel = f["path"].get<std::string>();
    if (rel.empty() || rel.find("..") != std::string::npos || rel[0] == '/') continue;
    const fs::path full = dir / rel;
    std::error_code ec;
    if (!fs::is_regular_file(full, ec)) continue;
    f["sha256"] = attune::io::sha256_file(full.string());
    f["bytes"] = fs::file_size(full);
  }
  return j.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool fix_checksums = data[0] & 1;
  const std::vector<std::string> parts = attune::fuzz::split_parts(data + 1, size - 1, 4);
  const fs::path dir = attune::fuzz::scratch_dir() / "bundle";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "tokenizer");
  attune::fuzz::write_scratch("bundle/config.json", parts[1]);
  attune::fuzz::write_scratch("bundle/model.pt", parts[2]);
  attune::fuzz::write_scratch("bundle/tokenizer/vocab.txt", parts[3]);
  attune::fuzz::write_scratch("bundle/manifest.json", fix_checksums ? with_true_checksums(parts[0], dir) : parts[0]);
  try {
    const nlohmann::json manifest = attune::bundle::verify_bundle(dir.string());
    (void)attune::tasks::task_of_bundle(dir.string());
    attune::bundle::Bundle b;
    b.dir = dir.string();
    b.manifest = manifest;
    (void)attune::bundle::manifest_key(b, "task");
    (void)attune::bundle::bundle_path(b, attune::bundle::manifest_key(b, "model").at("file").get<std::string>(), "model.file");
  } catch (const attune::UserError&) {
  }
  return 0;
}
