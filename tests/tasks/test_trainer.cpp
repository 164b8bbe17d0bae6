// The engine on a task small enough to reason about: a linear model on fixed data.
#include "tests/catch.h"

#include "tasks/engine/trainer.h"
#include "tests/common/synthetic.h"

#include <fstream>
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
    return torch::mse_loss(model_->forward(x_.index_select(0, idx)), y_.index_select(0, idx));
  }
  json evaluate(const torch::Device&, const attune::engine::EvalShard&) override {
    const double score = evals_ < scores_.size() ? scores_[evals_] : 0.0;
    ++evals_;
    return {{"score", score}, {"mse", torch::mse_loss(model_->forward(x_), y_).item<double>()}};
  }
  std::shared_ptr<torch::nn::LinearImpl> model_;
  size_t evals_ = 0;

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
