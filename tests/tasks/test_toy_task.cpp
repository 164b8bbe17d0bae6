// A task written outside attune's sources, through the public interface alone
// (tasks/task.h, tasks/registry.h): registered by name, then trained, evaluated and
// used for predictions by the same calls the CLI makes. It classifies points of the
// plane by the sign of x + y with a linear layer.
#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "tasks/registry.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace {

namespace engine = attune::engine;
namespace tasks = attune::tasks;
using nlohmann::json;

struct Points {
  torch::Tensor xy;      // (N, 2) float
  torch::Tensor labels;  // (N) long
};

// One point a line: "x y label" (label optional for predict).
Points read_points(std::istream& in, const std::string& name, bool with_labels) {
  std::vector<float> xy;
  std::vector<int64_t> labels;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream fields(line);
    float x = 0, y = 0;
    int64_t label = 0;
    if (!(fields >> x >> y) || (with_labels && !(fields >> label))) {
      attune::fail(attune::at_line(name, line_no), "expected 'x y" + std::string(with_labels ? " label'" : "'"));
    }
    xy.push_back(x);
    xy.push_back(y);
    labels.push_back(label);
  }
  const auto n = static_cast<int64_t>(labels.size());
  return {torch::tensor(xy).view({n, 2}), torch::tensor(labels)};
}

Points read_points_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) attune::fail(path, "cannot open file");
  return read_points(in, path, true);
}

double accuracy(torch::nn::Linear& model, const Points& p) {
  torch::NoGradGuard no_grad;
  return model->forward(p.xy).argmax(1).eq(p.labels).to(torch::kDouble).mean().item<double>();
}

class PlaneTrainer : public engine::TrainTask {
 public:
  PlaneTrainer(torch::nn::Linear model, Points train, Points valid, int64_t batch_size)
      : model_(std::move(model)), train_(std::move(train)), valid_(std::move(valid)), batch_size_(batch_size) {}
  std::shared_ptr<torch::nn::Module> model() override { return model_.ptr(); }
  engine::BatchPlan train_plan(int64_t epoch, uint64_t seed) override {
    std::vector<int64_t> items(train_.labels.size(0));
    for (size_t i = 0; i < items.size(); ++i) items[i] = static_cast<int64_t>(i);
    return engine::shuffled_batches(items, batch_size_, epoch, seed);
  }
  torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device& device) override {
    const torch::Tensor index = torch::tensor(batch);
    return torch::nn::functional::cross_entropy(model_->forward(train_.xy.index_select(0, index).to(device)),
                                                train_.labels.index_select(0, index).to(device));
  }
  json evaluate(const torch::Device&, const engine::EvalShard&) override { return {{"accuracy", accuracy(model_, valid_)}}; }

 private:
  torch::nn::Linear model_;
  Points train_, valid_;
  int64_t batch_size_;
};

class PlaneTask : public tasks::Task {
 public:
  std::string name() const override { return "toy-plane"; }
  std::string description() const override { return "points of the plane by the sign of x + y (a test task)"; }
  json default_config() const override {
    json c = {{"task", name()}, {"run_dir", "runs/toy"}, {"seed", 7}, {"device", "cpu"}, {"threads", 1}};
    c["data"] = {{"train", nullptr}, {"valid", nullptr}};
    c["train"] = engine::default_train_section();
    c["train"]["selection_metric"] = "accuracy";
    c["train"]["lr"] = 0.05;
    c["train"]["batch_size"] = 16;
    return c;
  }
  void check(const json& config) const override {
    if (attune::config::get_optional_string(config.at("data"), "train", "data").empty()) {
      attune::fail("data.train", "no training file given");
    }
  }
  engine::Prepared prepare(engine::Run& run) const override {
    const json& d = run.config().at("data");
    Points train = read_points_file(d.at("train").get<std::string>());
    Points valid = read_points_file(d.at("valid").get<std::string>());
    torch::manual_seed(run.options().seed);
    torch::nn::Linear model(2, 2);
    if (!run.resuming()) run.save_config();
    engine::Prepared prepared;
    prepared.summary["points"] = train.labels.size(0);
    prepared.trainer = std::make_unique<PlaneTrainer>(model, std::move(train), valid,
                                                      run.config().at("train").at("batch_size").get<int64_t>());
    prepared.finish = [model, valid](json& summary) mutable { summary["test"] = {{"accuracy", accuracy(model, valid)}}; };
    return prepared;
  }
  json evaluate(const tasks::RunRequest& run, const std::string& data_path) const override {
    torch::nn::Linear model = load(run);
    return {{"accuracy", accuracy(model, read_points_file(data_path))}, {"data", data_path}};
  }
  void predict(const tasks::RunRequest& run, tasks::PredictStreams& io) const override {
    torch::nn::Linear model = load(run);
    const Points points = read_points(io.in, io.input_name, false);
    const torch::Tensor predicted = model->forward(points.xy).argmax(1);
    for (int64_t i = 0; i < predicted.size(0); ++i) io.out << json{{"label", predicted[i].item<int64_t>()}}.dump() << "\n";
  }

 private:
  static torch::nn::Linear load(const tasks::RunRequest& run) {
    const engine::RunDir dir(run.run_dir);
    dir.read_config(run.overrides);
    torch::nn::Linear model(2, 2);
    dir.load_weights(*model);
    return model;
  }
};

void write_points(const std::string& path, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::ofstream out(path);
  for (int i = 0; i < n; ++i) {
    const float x = u(rng), y = u(rng);
    out << x << " " << y << " " << (x + y > 0 ? 1 : 0) << "\n";
  }
}

void register_once() {
  static const bool registered = [] {
    tasks::register_task(std::make_unique<PlaneTask>());
    return true;
  }();
  (void)registered;
}

json without_report(json summary) {
  summary.erase("report");
  return summary;
}

}  // namespace

TEST_CASE("a task registered from outside trains, evaluates and predicts through the registry", "[registry]") {
  register_once();
  const std::string dir = attune::testing::temp_dir("toy-task");
  write_points(dir + "/train.txt", 400, 1);
  write_points(dir + "/valid.txt", 100, 2);

  const json user = {{"data", {{"train", dir + "/train.txt"}, {"valid", dir + "/valid.txt"}}}};
  const json config = tasks::train_config(user, "toy.json", "toy-plane", {"run_dir=" + dir + "/run", "train.epochs=4"});
  CHECK(config["train"]["epochs"] == 4);
  std::ostringstream log;
  engine::TrainFlags flags;
  flags.log = &log;
  const json summary = tasks::train(config, flags);
  CHECK(summary["points"] == 400);
  CHECK(summary["steps"] == 4 * 25);
  CHECK(summary["valid"]["accuracy"].get<double>() > 0.9);
  CHECK(summary["test"]["accuracy"] == summary["valid"]["accuracy"]);
  // The run directory follows the contract: config, best weights, metrics, results.
  const engine::RunDir run(dir + "/run");
  CHECK(attune::io::read_json(run.config())["task"] == "toy-plane");
  CHECK(std::filesystem::exists(run.weights()));
  CHECK(std::filesystem::exists(run.metrics()));
  // results.json is the summary; the report, written after it from the run directory, adds its path.
  CHECK(summary["report"] == dir + "/run/report.html");
  CHECK(std::filesystem::exists(dir + "/run/report.html"));
  CHECK(attune::io::read_json(run.results()) == without_report(summary));

  const tasks::Task& task = tasks::task_of_run(run.path());
  CHECK(task.name() == "toy-plane");
  const json metrics = task.evaluate(tasks::RunRequest{run.path(), "", {}, {}}, dir + "/valid.txt");
  CHECK(metrics["accuracy"] == summary["valid"]["accuracy"]);

  std::istringstream in("0.5 0.5\n-0.5 -0.25\n");
  std::ostringstream out;
  tasks::PredictStreams streams{in, "<stdin>", out};
  task.predict(tasks::RunRequest{run.path(), "", {}, {}}, streams);
  CHECK(out.str() == "{\"label\":1}\n{\"label\":0}\n");

  // The lifecycle guards are the engine's: a second fresh run there is refused.
  CHECK(attune::testing::error_of([&] { tasks::train(config, flags); }) ==
        dir + "/run: already holds a run; use --resume to continue it or --overwrite to start over");
  // An --overwrite whose input is bad leaves the run it would have replaced as it was.
  const std::string weights_before = attune::io::read_file(run.weights());
  std::ofstream(dir + "/bad.txt") << "0.1 0.2 1\nnot a point\n";
  const json bad = tasks::train_config(user, "toy.json", "toy-plane", {"run_dir=" + dir + "/run", "data.train=" + dir + "/bad.txt"});
  flags.overwrite = true;
  CHECK(attune::testing::error_of([&] { tasks::train(bad, flags); }) == dir + "/bad.txt:2: expected 'x y label'");
  CHECK(attune::io::read_json(run.config())["data"]["train"] == dir + "/train.txt");
  CHECK(attune::io::read_file(run.weights()) == weights_before);
  CHECK(attune::io::read_json(run.results()) == without_report(summary));
  CHECK_FALSE(std::filesystem::exists(dir + "/run/.replaced-run"));
  // A good one replaces it.
  const json replaced = tasks::train(config, flags);
  CHECK(attune::io::read_json(run.results()) == without_report(replaced));
  CHECK_FALSE(std::filesystem::exists(dir + "/run/.replaced-run"));
}

TEST_CASE("the registry refuses a taken name and names the known tasks", "[registry]") {
  register_once();
  CHECK(attune::testing::error_of([] { tasks::register_task(std::make_unique<PlaneTask>()); }) ==
        "task: a task named 'toy-plane' is already registered");
  const std::string unknown = attune::testing::error_of([] { tasks::find_task("toy-plain", "run.json: task"); });
  CHECK(unknown.rfind("run.json: task: unknown task 'toy-plain' (known: text-classification, mlm, translation, "
                      "image-classification, recommendation", 0) == 0);
  CHECK(tasks::find_task("toy-plane", "task").description().find("test task") != std::string::npos);
}
