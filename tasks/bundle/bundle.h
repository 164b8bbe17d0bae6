// Bundles: what `attune export` writes for services that know nothing of attune. A
// directory with a TorchScript model.pt, the run's tokenizer/ and config.json, and a
// manifest.json that names the format, the versions it was made with, the model's
// inputs and outputs, and the size and SHA-256 of every file, so a copy that lost or
// changed a byte is refused instead of giving wrong answers.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace attune::text {
class Tokenizer;
}

namespace attune::bundle {

inline constexpr const char* kFormat = "attune-bundle";
inline constexpr int kFormatVersion = 1;
inline constexpr const char* kManifest = "manifest.json";
inline constexpr const char* kModel = "model.pt";

std::string attune_version();
// The LibTorch this binary was built against (TORCH_VERSION), e.g. "1.13.1".
std::string torch_version();

// The keys every manifest starts with: format, format_version, task, attune_version,
// torch_version.
nlohmann::json base_manifest(const std::string& task);

// Writes out_dir atomically: `fill` writes the payload into a fresh directory beside
// out_dir, manifest.json is completed with "files" (path, bytes, sha256 of every file
// there, sorted) and the directory is renamed into place, so readers never see half a
// bundle. An existing out_dir must be empty, or with `overwrite` an attune bundle
// (anything else is refused, so a mistyped --out cannot delete a run).
void write_bundle(const std::string& out_dir, bool overwrite, nlohmann::json manifest,
                  const std::function<void(const std::string& dir)>& fill);

// write_bundle with what every task's bundle holds: `module` as model.pt, and the run's
// tokenizer/ (where the run has one) and config.json.
void write_run_bundle(const std::string& out_dir, bool overwrite, const nlohmann::json& manifest,
                      const torch::jit::Module& module, const std::string& run_dir);

// The manifest's "tokenizer" of a bundle holding the run's tokenizer/: kind, dir, files
// and special ids.
nlohmann::json tokenizer_manifest(const text::Tokenizer& tokenizer, const std::string& run_dir);
// {"files": count, "bytes": total} of a written bundle, from its manifest (for summaries).
nlohmann::json files_summary(const std::string& bundle_dir);

// A small fixed batch for an exporter's check of its script against the model: two rows
// of `length` (at most 7 and max_length) ids below vocab_size, the second padded by two,
// token types zero. Fixed, so the global random generator stays untouched.
struct ProbeBatch {
  torch::Tensor ids, mask, types;  // (2, length) int64
};
ProbeBatch probe_batch(int64_t vocab_size, int64_t max_length);

struct Bundle {
  std::string dir;
  nlohmann::json manifest;
  torch::jit::Module module;  // eval mode, on the CPU
  nlohmann::json config;      // config.json (the run's), read by the task-checking load_bundle
};

// Checks manifest.json (format, version, required keys), that every listed file exists
// with its size and SHA-256, then loads model.pt. Every failure is a UserError naming the
// file (and key).
Bundle load_bundle(const std::string& dir);
// The same for a bundle that must be of `task`, with its config.json read.
Bundle load_bundle(const std::string& dir, const std::string& task);
// As for a run: the config's thread count takes effect, and the module moves to the
// --device flag's device, else the one its config names; returns that device.
torch::Device place_bundle(Bundle& bundle, const std::string& device_flag);
// Checks the manifest and files only.
nlohmann::json verify_bundle(const std::string& dir);

// bundle.module.forward(inputs) as a tensor. The TorchScript interpreter's own errors
// (a generic first line, the reason last) become "<dir>/model.pt: <reason>".
torch::Tensor forward(Bundle& bundle, std::vector<c10::IValue> inputs);

// manifest[key], failing "<dir>/manifest.json: missing key '<key>'" when absent.
const nlohmann::json& manifest_key(const Bundle& bundle, const std::string& key);
// A path the manifest gives under `key`, inside the bundle (no absolute paths, no "..").
std::string bundle_path(const Bundle& bundle, const std::string& relative, const std::string& key);

}  // namespace attune::bundle
