// The engine on a task small enough to reason about: a linear model on fixed data.
#include "tests/catch.h"

#include "tasks/engine/trainer.h"
#include "tests/common/errors.h"
#include "tests/common/file_size_limit.h"
#include "tests/common/synthetic.h"

#include "data/formats/safetensors.h"
#include "data/formats/tfevents.h"


#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

using nlohmann::json;

namespace {

class LinearTask : public attune::engine::TrainTask {
 public:
  LinearTask(int64_t micro_batch, std::vector<double> valid_scores = {})
      : micro_batch_(micro_batch), scores_(std::move(valid_scores)) {
    torch::manual_seed(3);
    model_ = std::make_shared<torch::nn::LinearImpl>(4, 1);
    x_ = torch::randn({8, 4});
    y_ = x_.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f})).unsqueeze(1);
  }
  std::shared_ptr<torch::nn::Module> model() override { return model_; }
  attune::engine::BatchPlan train_plan(int64_t, uint64_t) override {
    attune::engine::BatchPlan plan;
    for (int64_t i = 0; i < 8; i += micro_batch_) {
      std::vector<int64_t> b;
      for (int64_t j = i; j < std::min<int64_t>(8, i + micro_batch_); ++j) b.push_back(j);
      plan.push_back(b);
    }
    return plan;
  }
  torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device&) override {
    const auto idx = torch::tensor(batch);
    const torch::Tensor loss = torch::mse_loss(model_->forward(x_.index_select(0, idx)), y_.index_select(0, idx));
    // A poisoned call overflows the way a diverging bf16 step does.
    return poisoned_calls_.count(++calls_) ? loss * std::numeric_limits<float>::infinity() : loss;
  }
  json evaluate(const torch::Device&, const attune::engine::EvalShard&) override {
    const double score = evals_ < scores_.size() ? scores_[evals_] : 0.0;
    ++evals_;
    return {{"score", score}, {"mse", torch::mse_loss(model_->forward(x_), y_).item<double>()}};
  }
  std::shared_ptr<torch::nn::LinearImpl> model_;
  size_t evals_ = 0;
  std::set<int64_t> poisoned_calls_;  // 1-based calls of train_loss that return an infinite loss
  int64_t calls_ = 0;

 private:
  int64_t micro_batch_;
  std::vector<double> scores_;
  torch::Tensor x_, y_;
};

attune::engine::TrainOptions options(const std::string& dir, std::ostream& log) {
  attune::engine::TrainOptions o;
  o.run_dir = dir;
  o.epochs = 20;
  o.optimizer.lr = 0.05;
  o.selection_metric = "mse";
  o.higher_is_better = false;
  o.log = &log;
  return o;
}

}  // namespace

TEST_CASE("gradient accumulation equals one large batch", "[trainer]") {
  std::ostringstream log;
  LinearTask whole(8), halves(4), quarters(2);
  auto o = options(attune::testing::temp_dir("accum-1"), log);
  o.epochs = 300;
  o.eval_every = 100;
  attune::engine::train(whole, o, false);
  o.run_dir = attune::testing::temp_dir("accum-2");
  o.grad_accum = 2;
  attune::engine::train(halves, o, false);
  o.run_dir = attune::testing::temp_dir("accum-4");
  o.grad_accum = 4;
  attune::engine::train(quarters, o, false);
  CHECK(torch::allclose(whole.model_->weight, halves.model_->weight, 1e-5, 1e-6));
  CHECK(torch::allclose(whole.model_->weight, quarters.model_->weight, 1e-5, 1e-6));
  // And it actually learned the linear map.
  CHECK(torch::mse_loss(whole.model_->weight, torch::tensor({{1.0f, -2.0f, 0.5f, 3.0f}})).item<double>() < 0.5);
}

TEST_CASE("early stopping ends after `patience` evaluations without improvement", "[trainer]") {
  std::ostringstream log;
  LinearTask task(8, {0.5, 0.7, 0.6, 0.65, 0.69, 0.9});
  auto o = options(attune::testing::temp_dir("early"), log);
  o.selection_metric = "score";
  o.higher_is_better = true;
  o.early_stopping_patience = 3;
  const auto result = attune::engine::train(task, o, false);
  CHECK(task.evals_ == 5);  // best at eval 2, then 3 without improvement
  CHECK(result.global_step == 5);
  CHECK(result.best_step == 2);
  CHECK(result.best_metrics["score"].get<double>() == 0.7);
}

TEST_CASE("metrics.jsonl has a line per logged step and per evaluation", "[trainer]") {
  std::ostringstream log;
  LinearTask task(4);
  auto o = options(attune::testing::temp_dir("metrics"), log);
  o.epochs = 3;
  o.log_every = 2;
  attune::engine::train(task, o, false);
  std::ifstream f(o.run_dir + "/metrics.jsonl");
  int train_lines = 0, valid_lines = 0;
  for (std::string line; std::getline(f, line);) {
    const json j = json::parse(line);
    (j["split"] == "train" ? train_lines : valid_lines)++;
    if (j["split"] == "train") CHECK(j.contains("lr"));
  }
  CHECK(train_lines == 3);  // steps 2, 4, 6 of 6
  CHECK(valid_lines == 3);  // one per epoch
}

namespace {

std::string latest(const std::string& run_dir) {
  return json::parse(std::ifstream(run_dir + "/checkpoint.json"))["latest"].get<std::string>();
}

// 20 steps with a checkpoint every 5 and nothing else written on the way.
attune::engine::TrainOptions checkpoints_only(const std::string& dir, std::ostream& log) {
  auto o = options(dir, log);
  o.checkpoint_every = 5;
  o.log_every = 100;
  o.eval_every = 100;
  return o;
}

bool all_finite(const std::string& weights) {
  for (const auto& [name, t] : attune::formats::load_safetensors(weights).tensors) {
    if (!torch::isfinite(t).all().item<bool>()) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a NaN or infinite loss stops the run naming the step, before such weights are saved", "[trainer][faults]") {
  std::ostringstream log;
  LinearTask task(8);
  task.poisoned_calls_ = {7};
  auto o = checkpoints_only(attune::testing::temp_dir("nonfinite-stop"), log);
  const std::string error = attune::testing::error_of([&] { attune::engine::train(task, o, false); });
  INFO(error);
  CHECK(error.find("NaN or infinite at step 7 (epoch 7 of 20, batch 0 of its plan)") != std::string::npos);
  CHECK(error.find("--resume restarts from checkpoint-00000005") != std::string::npos);
  CHECK(error.find("train.nonfinite") != std::string::npos);
  // The error came at the next checkpoint (step 10): nothing after step 5 was published.
  CHECK(latest(o.run_dir) == "checkpoint-00000005");
  CHECK(!std::filesystem::exists(o.run_dir + "/checkpoint-00000010"));
  CHECK(all_finite(o.run_dir + "/checkpoint-00000005/model.safetensors"));
}

TEST_CASE("train.nonfinite = skip skips a non-finite step's update and counts it", "[trainer][faults]") {
  std::ostringstream log;
  LinearTask task(4);
  task.poisoned_calls_ = {13};  // the first micro-batch of step 7
  auto o = options(attune::testing::temp_dir("nonfinite-skip"), log);
  o.skip_nonfinite = true;
  o.log_every = 5;
  o.grad_accum = 2;
  torch::Tensor after_six;
  bool seven_unchanged = false;
  o.stop_requested = [&](int64_t step) {
    if (step == 6) after_six = task.model_->weight.detach().clone();
    if (step == 7) seven_unchanged = torch::equal(after_six, task.model_->weight);
    return false;
  };
  const auto result = attune::engine::train(task, o, false);
  CHECK(result.skipped_steps == 1);
  CHECK(seven_unchanged);
  CHECK(log.str().find("skipped step 7: its loss or gradient is NaN or infinite (epoch 7 of 20, batches 0-1") !=
        std::string::npos);
  CHECK(torch::isfinite(task.model_->weight).all().item<bool>());
  std::ifstream f(o.run_dir + "/metrics.jsonl");
  int64_t counted = -1;
  for (std::string line; std::getline(f, line);) {
    const json j = json::parse(line);
    if (j["split"] == "train" && j["step"] == 10) counted = j.value("skipped_steps", int64_t{0});
  }
  CHECK(counted == 1);
}

TEST_CASE("a full disk during a checkpoint fails with the file and reason; the previous checkpoint resumes exactly",
          "[trainer][faults]") {
  std::ostringstream log;
  LinearTask whole(8), cut(8), resumed(8);
  auto o = checkpoints_only(attune::testing::temp_dir("disk-full-whole"), log);
  attune::engine::train(whole, o, false);

  o.run_dir = attune::testing::temp_dir("disk-full-cut");
  std::unique_ptr<attune::testing::FileSizeLimit> limit;
  // After the checkpoint of step 5, files may grow to 100 bytes: the next checkpoint's
  // weights and optimizer state do not fit.
  o.stop_requested = [&](int64_t step) {
    if (step == 6) limit = std::make_unique<attune::testing::FileSizeLimit>(100, /*in_process=*/true);
    return false;
  };
  const std::string error = attune::testing::error_of([&] { attune::engine::train(cut, o, false); });
  limit.reset();
  INFO(error);
  CHECK(error.find("cannot write the checkpoint of step 10") != std::string::npos);
  CHECK(error.find("File too large") != std::string::npos);
  CHECK(error.find("the previous checkpoint checkpoint-00000005 is intact") != std::string::npos);
  CHECK(latest(o.run_dir) == "checkpoint-00000005");
  CHECK(!std::filesystem::exists(o.run_dir + "/checkpoint-00000010.tmp"));
  CHECK(!std::filesystem::exists(o.run_dir + "/checkpoint-00000010"));

  o.stop_requested = nullptr;
  attune::engine::train(resumed, o, true);
  CHECK(torch::equal(whole.model_->weight, resumed.model_->weight));
  CHECK(torch::equal(whole.model_->bias, resumed.model_->bias));
}

namespace {

// TensorBoard's view of a run: per event (the version record left out), its step and
// scalars, without the ones that measure time.
std::vector<std::pair<int64_t, attune::formats::Scalars>> board(const std::string& run_dir) {
  std::vector<std::pair<int64_t, attune::formats::Scalars>> out;
  for (const auto& e : attune::formats::read_tfevents(run_dir + "/events.out.tfevents.attune")) {
    if (!e.file_version.empty()) continue;
    attune::formats::Scalars kept;
    for (const auto& [tag, value] : e.scalars) {
      if (tag.find("elapsed_s") == std::string::npos && tag.find("items_per_s") == std::string::npos) kept.emplace_back(tag, value);
    }
    out.emplace_back(e.step, kept);
  }
  return out;
}

}  // namespace

TEST_CASE("TensorBoard events hold metrics.jsonl's numbers, and a resumed run's are an uninterrupted run's",
          "[trainer][tensorboard]") {
  std::ostringstream log;
  LinearTask whole(4), cut(4), resumed(4);
  auto o = options(attune::testing::temp_dir("tensorboard-whole"), log);
  o.epochs = 8;
  o.log_every = 2;
  o.eval_every = 6;
  o.checkpoint_every = 4;
  attune::engine::train(whole, o, false);

  const auto events = attune::formats::read_tfevents(o.run_dir + "/events.out.tfevents.attune");
  REQUIRE(!events.empty());
  CHECK(events[0].file_version == "brain.Event:2");
  std::ifstream f(o.run_dir + "/metrics.jsonl");
  size_t i = 1;
  for (std::string text; std::getline(f, text); ++i) {
    const json line = json::parse(text);
    REQUIRE(i < events.size());
    CHECK(events[i].step == line["step"].get<int64_t>());
    const std::string split = line["split"];
    std::map<std::string, float> scalars(events[i].scalars.begin(), events[i].scalars.end());
    for (const auto& [key, value] : line.items()) {
      if (key == "step" || key == "split") continue;
      INFO(key);
      CHECK(scalars.at(split + "/" + key) == value.get<float>());
    }
    CHECK(scalars.size() == line.size() - 2);
  }
  CHECK(i == events.size());

  auto c = o;
  c.run_dir = attune::testing::temp_dir("tensorboard-cut");
  // A crash at step 11: logged up to step 10, checkpointed at 8.
  c.stop_requested = [](int64_t step) -> bool {
    if (step == 11) throw std::runtime_error("crash");
    return false;
  };
  CHECK_THROWS(attune::engine::train(cut, c, false));
  CHECK(board(c.run_dir).back().first == 10);
  c.stop_requested = nullptr;
  attune::engine::train(resumed, c, true);
  CHECK(board(c.run_dir) == board(o.run_dir));
}
