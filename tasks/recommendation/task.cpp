#include "tasks/recommendation/task.h"
#include "tasks/engine/train_config.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "models/common/parameters.h"
#include "core/config.h"
#include "tasks/recommendation/baselines.h"
#include "tasks/recommendation/model.h"
#include "tasks/recommendation/ranking.h"
#include "tasks/recommendation/recommend.h"
#include "tasks/recommendation/run_data.h"
#include "tasks/recommendation/training.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <limits>

namespace fs = std::filesystem;

namespace attune::recommendation {
namespace {

// Full ranking always; the sampled protocol besides it when the config asks for it.
nlohmann::json rank_all(const std::vector<EvalCase>& cases, RecModel& model, const Config& config) {
  const int64_t batch = config.train.eval_batch_size;
  nlohmann::json m = rank_cases(cases, model.scorer(), model.num_items, batch, "full", 0);
  if (config.eval.protocol == "sampled100") {
    m["sampled100"] = rank_cases(cases, model.scorer(), model.num_items, batch, "sampled100",
                                 static_cast<uint64_t>(config.run.seed));
  }
  return m;
}

void fit_baseline(RecModel& model, const LeaveOneOut& split, const Config& config) {
  if (model.name == "popular") model.popularity = popularity(split.train, model.num_items);
  else model.similarity = item_similarity(split.train, model.num_items, config.model.neighbors);
}

}  // namespace

LoadedRun load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device) {
  engine::RunDir(run_dir).require();
  LoadedRun run;
  run.config = engine::RunDir(run_dir).read_config(overrides);
  run.typed = parse_config(run.config);
  run.data = load_run_data(run_dir);
  run.model = make_model(run.typed, run.data.catalog.num_items(), run.data.features.num_values());
  load_model_weights(run.model, run_dir);
  run.model.device = engine::run_device(run.config, device);
  if (run.model.net) {
    run.model.net->to(run.model.device);
    run.model.net->eval();
  }
  return run;
}

void check_run_config(const nlohmann::json& config) {
  const Config c = parse_config(config);
  if (c.data.interactions.empty()) fail("data.interactions", "no interaction log given (set data.interactions)");
}

engine::Prepared prepare_run(engine::Run& run) {
  const Config c = parse_config(run.config());
  const engine::TrainOptions& options = run.options();
  const std::string run_dir = run.dir().path();
  const std::string& path = c.data.interactions;
  const Objective objective = objective_of(c);
  const data::InteractionColumns columns = interaction_columns(c.data);
  const SequenceOptions seq_options = sequence_options(c.data);

  const auto t0 = std::chrono::steady_clock::now();
  RunData data;
  if (run.resuming()) {
    data = load_run_data(run_dir);
  } else {
    const data::InteractionLog interactions = data::read_interactions(path, columns, "data");
    if (!interactions.has_rating && c.data.min_rating) {
      fail("data.min_rating", path + " has no ratings (set data.rating_column)");
    }
    data = build_run_data(interactions, seq_options, columns.features);
    save_run_data(run_dir, data);
    run.save_config();
  }
  LeaveOneOut split = leave_one_out(data.sequences);
  attach_features(split.valid, data.features);
  attach_features(split.test, data.features);
  int64_t interactions = 0;
  for (const auto& s : data.sequences) interactions += static_cast<int64_t>(s.size());
  run.log() << "data: " << data.catalog.users.size() << " users, " << data.catalog.num_items() << " items, "
            << interactions << " interactions; " << split.valid.size() << " valid / " << split.test.size()
            << " test cases (leave-one-out)\n";
  if (split.valid.empty()) fail(path, "no user has three or more interactions: nothing to evaluate");

  torch::manual_seed(options.seed);
  // Shared by the trainer (which holds a reference) and the finish step.
  auto model = std::make_shared<RecModel>(make_model(c, data.catalog.num_items(), data.features.num_values()));
  model->device = options.device;
  engine::Prepared prepared;
  prepared.summary = {{"model", model->name},
                      {"users", data.catalog.users.size()},
                      {"items", data.catalog.num_items()},
                      {"interactions", interactions}};
  if (is_baseline(model->name)) {
    fit_baseline(*model, split, c);
    formats::save_safetensors(run.dir().weights(), model->tensors());
    prepared.summary["valid"] = rank_all(split.valid, *model, c);
  } else {
    model->net->to(options.device);
    const int64_t params = models::parameter_count(*model->net);
    run.log() << "model: " << model->name << ", " << params << " parameters on " << options.device << "\n";
    prepared.summary["parameters"] = params;
    prepared.trainer = std::make_unique<RecommendationTask>(
        *model, split.train, data.features.per_user, split.valid, objective,
        c.train.batch_size, c.train.eval_batch_size);
  }
  const std::vector<EvalCase> test = std::move(split.test);
  const Config saved = c;
  prepared.finish = [model, test, saved, t0](nlohmann::json& summary) {
    if (model->net) model->net->eval();
    summary["train_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    summary["test"] = rank_all(test, *model, saved);
  };
  return prepared;
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device) {
  LoadedRun run = load_run(run_dir, overrides, device);
  std::vector<EvalCase> cases;
  if (data_path.empty()) {
    cases = leave_one_out(run.data.sequences).test;
  } else {
    const data::InteractionLog log = data::read_interactions(data_path, interaction_columns(run.typed.data), "data");
    std::vector<std::vector<int64_t>> histories = run.data.sequences;
    std::vector<size_t> order(log.rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return log.rows[a].time < log.rows[b].time; });
    for (size_t r : order) {
      const auto& row = log.rows[r];
      const auto user = run.data.catalog.user_index.find(row.user);
      if (user == run.data.catalog.user_index.end()) fail(log.where(r), "unknown user '" + row.user + "' (not in the run)");
      const auto item = run.data.catalog.item_index.find(row.item);
      if (item == run.data.catalog.item_index.end()) fail(log.where(r), "unknown item '" + row.item + "' (not in the run)");
      auto& h = histories[user->second];
      cases.push_back({user->second, item->second, h, {}});
      h.push_back(item->second);
    }
    if (cases.empty()) fail(data_path, "no interactions");
  }
  attach_features(cases, run.data.features);
  nlohmann::json m = rank_all(cases, run.model, run.typed);
  m["data"] = data_path.empty() ? "the run's test cases (leave-one-out)" : data_path;
  m["model"] = run.model.name;
  return m;
}

void recommend_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                   const std::string& device, int64_t batch_size, int64_t top_k) {
  LoadedRun run = load_run(run_dir, {}, device);
  recommend_lines(
      in, input_name, out, batch_size,
      [&](const nlohmann::json& request, const std::string& where) {
        return parse_request(request, run.data.catalog, &run.data, top_k, where);
      },
      run.model.scorer(), run.data.catalog);
}

}  // namespace attune::recommendation
