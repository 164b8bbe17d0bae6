#include "tasks/engine/checkpoint.h"

#include "core/error.h"
#include "core/torch_error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"

#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace attune::engine {

nlohmann::json TrainerState::to_json() const {
  return {{"global_step", global_step},
          {"epoch", epoch},
          {"batch_in_epoch", batch_in_epoch},
          {"has_best", has_best},
          {"best_metric", best_metric},
          {"best_step", best_step},
          {"best_metrics", best_metrics},
          {"evals_without_improvement", evals_without_improvement},
          {"finished", finished},
          {"window_loss_sum", window_loss_sum},
          {"window_steps", window_steps},
          {"elapsed_s", elapsed_s},
          {"world_size", world_size},
          {"skipped_steps", skipped_steps}};
}

TrainerState TrainerState::from_json(const nlohmann::json& j, const std::string& path) {
  try {
    TrainerState s;
    s.global_step = j.at("global_step").get<int64_t>();
    s.epoch = j.at("epoch").get<int64_t>();
    s.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
    s.has_best = j.at("has_best").get<bool>();
    s.best_metric = j.at("best_metric").get<double>();
    s.best_step = j.at("best_step").get<int64_t>();
    s.best_metrics = j.at("best_metrics");
    s.evals_without_improvement = j.at("evals_without_improvement").get<int64_t>();
    s.finished = j.at("finished").get<bool>();
    s.window_loss_sum = j.at("window_loss_sum").get<double>();
    s.window_steps = j.at("window_steps").get<int64_t>();
    s.elapsed_s = j.at("elapsed_s").get<double>();
    s.world_size = j.value("world_size", int64_t{1});  // absent before data-parallel training
    s.skipped_steps = j.value("skipped_steps", int64_t{0});  // absent before train.nonfinite
    return s;
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("corrupt trainer state: ") + e.what());
  }
}

namespace {

// The optimizer's archive, serialized in memory so that it is written like every other
// file of a checkpoint: completely and synced, or not at all with the reason.
std::string optimizer_bytes(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  return bytes;
}

void write_checkpoint_files(const fs::path& dir, const formats::NamedTensors& tensors,
                            torch::optim::Optimizer& optimizer, const TrainerState& state) {
  fs::create_directories(dir);
  formats::save_safetensors((dir / "model.safetensors").string(), tensors);
  io::write_file_atomic((dir / "optimizer.pt").string(), optimizer_bytes(optimizer));
  io::write_json_atomic((dir / "trainer_state.json").string(), state.to_json());
}

}  // namespace

void save_checkpoint(const std::string& run_dir, const formats::NamedTensors& tensors,
                     torch::optim::Optimizer& optimizer, const TrainerState& state) {
  char name[64];
  std::snprintf(name, sizeof(name), "checkpoint-%08lld", static_cast<long long>(state.global_step));
  const fs::path final_dir = fs::path(run_dir) / name;
  const fs::path tmp_dir = fs::path(run_dir) / (std::string(name) + ".tmp");
  io::remove_tree(tmp_dir.string());
  // A full disk or a write error leaves no partial directory behind, and the published
  // checkpoint (checkpoint.json) untouched.
  try {
    write_checkpoint_files(tmp_dir, tensors, optimizer, state);
  } catch (const std::exception& e) {
    try {
      io::remove_tree(tmp_dir.string());
    } catch (const std::exception&) {
    }
    const auto previous = latest_checkpoint(run_dir);
    fail(run_dir, "cannot write the checkpoint of step " + std::to_string(state.global_step) + ": " + error_reason(e) +
                      (previous ? "; the previous checkpoint " + fs::path(*previous).filename().string() + " is intact"
                                : std::string("; no earlier checkpoint exists")));
  }
  // The same step saved again (a stop right after a periodic checkpoint) replaces it;
  // the old copy is set aside first, so a crash between the renames leaves one of them.
  const fs::path old_dir = fs::path(run_dir) / (std::string(name) + ".old");
  if (fs::exists(final_dir)) {
    io::remove_tree(old_dir.string());
    fs::rename(final_dir, old_dir);
  }
  fs::rename(tmp_dir, final_dir);
  io::sync_directory(run_dir);
  io::write_json_atomic((fs::path(run_dir) / "checkpoint.json").string(),
                        {{"latest", name}, {"global_step", state.global_step}});
  // Older checkpoints are only dropped once the new one is published.
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    const std::string other = entry.path().filename().string();
    if (entry.is_directory() && other.rfind("checkpoint-", 0) == 0 && other != name) io::remove_tree(entry.path().string());
  }
}

std::optional<std::string> latest_checkpoint(const std::string& run_dir) {
  const fs::path pointer = fs::path(run_dir) / "checkpoint.json";
  if (!fs::exists(pointer)) return std::nullopt;
  const nlohmann::json j = io::read_json(pointer.string());
  if (!j.contains("latest") || !j["latest"].is_string()) fail(pointer.string(), "missing key 'latest'");
  const fs::path dir = fs::path(run_dir) / j["latest"].get<std::string>();
  if (!fs::is_directory(dir)) fail(pointer.string(), "points to missing checkpoint " + dir.string());
  return dir.string();
}

TrainerState load_checkpoint(const std::string& checkpoint_dir,
                             const std::function<void(const formats::SafetensorsFile&, const std::string&)>& load_tensors,
                             torch::optim::Optimizer& optimizer, const torch::Device& device) {
  const fs::path dir(checkpoint_dir);
  const std::string weights = (dir / "model.safetensors").string();
  load_tensors(formats::load_safetensors(weights), weights);
  const std::string optimizer_path = (dir / "optimizer.pt").string();
  if (!fs::exists(optimizer_path)) fail(optimizer_path, "missing optimizer state");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(optimizer_path, device);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    fail(optimizer_path, "cannot read optimizer state: " + std::string(e.what_without_backtrace()));
  }
  const std::string state_path = (dir / "trainer_state.json").string();
  return TrainerState::from_json(io::read_json(state_path), state_path);
}

}  // namespace attune::engine
