#include "tasks/api.h"

#include "core/files.h"
#include "core/log.h"
#include "tasks/bundle/bundle.h"
#include "tasks/engine/run_dir.h"
#include "tasks/registry.h"

#include <sstream>

namespace attune::api {
namespace {

// predict's inputs as the lines `attune predict --input` reads.
std::string input_lines(const std::vector<std::string>& inputs) {
  std::string text;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].find_first_of("\r\n") != std::string::npos) {
      fail("inputs[" + std::to_string(i) + "]", "one line per input: replace the line break with a space");
    }
    text += inputs[i];
    text += '\n';
  }
  return text;
}

// One JSON value per output line (a line that is not JSON, such as a translation, stays a string).
std::vector<nlohmann::json> output_rows(const std::string& text) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    rows.push_back(row.is_discarded() ? nlohmann::json(line) : std::move(row));
  }
  return rows;
}

template <typename Predict>
std::vector<nlohmann::json> predict_lines(const std::vector<std::string>& inputs, int64_t batch_size, Predict predict) {
  if (batch_size < 1) fail("batch_size", "must be at least 1, got " + std::to_string(batch_size));
  std::istringstream in(input_lines(inputs));
  std::ostringstream out;
  tasks::PredictStreams streams{in, "inputs", out, batch_size};
  predict(streams);
  return output_rows(out.str());
}

}  // namespace

std::string version() { return bundle::attune_version(); }

nlohmann::json make_config(const nlohmann::json& user, const std::vector<std::string>& overrides) {
  if (user.is_null()) return tasks::train_config(nlohmann::json::object(), "config", "text-classification", overrides);
  if (!user.is_object()) fail("config", std::string("expected a JSON object, got ") + user.type_name());
  return tasks::train_config(user, "config", "text-classification", overrides);
}

nlohmann::json train(const nlohmann::json& config, const TrainOptions& options) {
  engine::TrainFlags flags;
  flags.overwrite = options.overwrite;
  flags.resume = options.resume;
  flags.log = options.log;
  flags.stop_requested = options.stop_requested;
  log::Redirect redirect(options.log);
  return tasks::train(config, flags);
}

nlohmann::json resume(const std::string& run_dir, const TrainOptions& options) {
  const engine::RunDir dir(run_dir);
  dir.require();
  nlohmann::json config = io::read_json(dir.config());
  config["run_dir"] = run_dir;
  TrainOptions resumed = options;
  resumed.resume = true;
  return train(config, resumed);
}

TrainedRun::TrainedRun(std::string run_dir, std::string device) : run_dir_(std::move(run_dir)), device_(std::move(device)) {
  tasks::task_of_run(run_dir_);  // fails now, naming the directory, when it holds no run
}

std::string TrainedRun::task() const { return tasks::task_of_run(run_dir_).name(); }

nlohmann::json TrainedRun::config() const { return io::read_json(engine::RunDir(run_dir_).config()); }

nlohmann::json TrainedRun::evaluate(const std::string& data_path) const {
  const tasks::Task& task = tasks::task_of_run(run_dir_);
  if (data_path.empty() && !task.evaluates_own_split()) {
    fail("evaluate", "the " + task.name() + " task needs a labelled data file");
  }
  return task.evaluate(tasks::RunRequest{run_dir_, device_, {}, {}}, data_path);
}

std::vector<nlohmann::json> TrainedRun::predict(const std::vector<std::string>& inputs, int64_t batch_size) const {
  const tasks::Task& task = tasks::task_of_run(run_dir_);
  return predict_lines(inputs, batch_size, [&](tasks::PredictStreams& io) {
    task.predict(tasks::RunRequest{run_dir_, device_, {}, {}}, io);
  });
}

nlohmann::json TrainedRun::export_bundle(const std::string& out_dir, bool overwrite, bundle::Precision precision,
                                         bool adapter_base) const {
  const tasks::Task& task = tasks::task_of_run(run_dir_);
  if (!task.exports()) fail("export_bundle", "the " + task.name() + " task has no bundle export");
  return task.export_bundle(run_dir_, out_dir, overwrite, precision, adapter_base);
}

std::vector<nlohmann::json> predict_bundle(const std::string& bundle_dir, const std::vector<std::string>& inputs,
                                           const std::string& device, int64_t batch_size) {
  const tasks::Task& task = tasks::task_of_bundle(bundle_dir);
  return predict_lines(inputs, batch_size, [&](tasks::PredictStreams& io) { task.predict_bundle(bundle_dir, device, io); });
}

}  // namespace attune::api
