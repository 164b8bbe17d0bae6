#include "tests/catch.h"

#include "tasks/classification/metrics.h"
#include "tasks/engine/optimizer.h"

using attune::classification::classification_metrics;

TEST_CASE("classification metrics on a hand-made confusion", "[metrics]") {
  // truth:     a a a b b c
  // predicted: a a b b c c
  const auto m = classification_metrics({0, 0, 1, 1, 2, 2}, {0, 0, 0, 1, 1, 2}, {"a", "b", "c"});
  CHECK(m["accuracy"].get<double>() == Approx(4.0 / 6));
  // a: P=1, R=2/3, F1=0.8; b: P=1/2, R=1/2, F1=0.5; c: P=1/2, R=1, F1=2/3
  CHECK(m["per_class"]["a"]["f1"].get<double>() == Approx(0.8));
  CHECK(m["per_class"]["b"]["precision"].get<double>() == Approx(0.5));
  CHECK(m["per_class"]["c"]["recall"].get<double>() == Approx(1.0));
  CHECK(m["per_class"]["c"]["f1"].get<double>() == Approx(2.0 / 3));
  CHECK(m["macro_f1"].get<double>() == Approx((0.8 + 0.5 + 2.0 / 3) / 3));
  CHECK(m["confusion_matrix"] == nlohmann::json({{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  CHECK(m["per_class"]["a"]["support"] == 3);
}

TEST_CASE("a class never predicted has precision 0, not NaN", "[metrics]") {
  const auto m = classification_metrics({0, 0}, {0, 1}, {"x", "y"});
  CHECK(m["per_class"]["y"]["precision"].get<double>() == 0.0);
  CHECK(m["per_class"]["y"]["f1"].get<double>() == 0.0);
  CHECK(m["macro_f1"].get<double>() == Approx((2.0 / 3) / 2));
}

TEST_CASE("linear warm-up and decay match transformers' schedule", "[optimizer]") {
  using attune::engine::linear_schedule;
  CHECK(linear_schedule(0, 10, 100) == 0.0);
  CHECK(linear_schedule(5, 10, 100) == Approx(0.5));
  CHECK(linear_schedule(10, 10, 100) == Approx(1.0));
  CHECK(linear_schedule(55, 10, 100) == Approx(0.5));
  CHECK(linear_schedule(100, 10, 100) == 0.0);
  CHECK(linear_schedule(0, 0, 10) == Approx(1.0));
}

TEST_CASE("AdamW excludes biases and norms from weight decay", "[optimizer]") {
  torch::nn::Sequential net(torch::nn::Linear(4, 3), torch::nn::LayerNorm(torch::nn::LayerNormOptions({3})));
  net[0]->as<torch::nn::Linear>()->bias.requires_grad_(false);  // frozen: must not reach the optimizer
  auto opt = attune::engine::make_adamw(*net, {});
  REQUIRE(opt->param_groups().size() == 2);
  CHECK(opt->param_groups()[0].params().size() == 1);  // the Linear weight
  CHECK(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options()).weight_decay() == Approx(0.01));
  CHECK(opt->param_groups()[1].params().size() == 2);  // LayerNorm weight and bias
  CHECK(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[1].options()).weight_decay() == 0.0);
}
