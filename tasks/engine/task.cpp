#include "tasks/engine/task.h"

#include <filesystem>

namespace attune::engine {

formats::NamedTensors TrainTask::checkpoint_tensors() { return formats::module_tensors(*model()); }

void TrainTask::load_checkpoint_tensors(const formats::SafetensorsFile& file, const std::string& path) {
  formats::load_module_tensors(*model(), file, path);
}

void TrainTask::save_best(const std::string& run_dir) {
  formats::save_safetensors((std::filesystem::path(run_dir) / "model.safetensors").string(),
                            formats::module_tensors(*model()));
}

}  // namespace attune::engine
