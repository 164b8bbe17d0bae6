#include "tests/catch.h"
#include "tasks/registry.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "tasks/classification/explain.h"
#include "tasks/classification/export.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/task.h"
#include "core/config.h"
#include "tasks/engine/cuda_graph.h"
#include "tasks/engine/step_runner.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A one-layer, 32-wide model on generated topic data: trains in about a second.
json tiny_config(const std::string& dir, const std::string& run_name) {
  json c = attune::classification::default_config();
  attune::config::apply_overrides(
      c, {"run_dir=" + dir + "/" + run_name, "device=cpu", "data.train=" + dir + "/train.csv",
          "data.valid=" + dir + "/valid.csv", "data.test=" + dir + "/test.csv", "data.max_length=24",
          "tokenizer.vocab_size=120", "model.hidden_size=32", "model.num_layers=1", "model.num_heads=2",
          "model.intermediate_size=64", "train.epochs=6", "train.batch_size=16", "train.lr=5e-3",
          "train.log_every=5", "train.checkpoint_every=7"});
  return c;
}

std::string make_data(const std::string& name) {
  const std::string dir = attune::testing::temp_dir(name);
  attune::testing::write_topics_csv(dir + "/train.csv", 240, 1);
  attune::testing::write_topics_csv(dir + "/valid.csv", 60, 2);
  attune::testing::write_topics_csv(dir + "/test.csv", 60, 3);
  return dir;
}

attune::formats::SafetensorsFile weights(const std::string& run_dir) {
  return attune::formats::load_safetensors(run_dir + "/model.safetensors");
}

void check_equal_weights(const attune::formats::SafetensorsFile& a, const attune::formats::SafetensorsFile& b) {
  REQUIRE(a.names == b.names);
  for (const auto& name : a.names) {
    INFO(name);
    CHECK(torch::equal(a.tensors.at(name), b.tensors.at(name)));
  }
}

// predict_run's output lines for `input`, parsed.
std::vector<json> predictions(const std::string& run_dir, const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  attune::classification::predict_run(run_dir, in, "<test>", out, "cpu", 8);
  std::istringstream lines(out.str());
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  return rows;
}

attune::engine::TrainFlags quiet(std::ostringstream& log) {
  attune::engine::TrainFlags f;
  f.log = &log;
  return f;
}

}  // namespace

TEST_CASE("text classification learns generated topics end to end", "[classification]") {
  const std::string dir = make_data("learn");
  std::ostringstream log;
  const json summary = attune::tasks::train(tiny_config(dir, "run"), quiet(log));
  INFO(log.str());
  CHECK(summary["test"]["accuracy"].get<double>() > 0.9);
  CHECK(summary["valid"]["accuracy"].get<double>() > 0.9);
  for (const char* f : {"config.json", "labels.json", "model.safetensors", "metrics.jsonl", "results.json",
                        "checkpoint.json", "tokenizer/tokenizer.json"}) {
    CHECK(fs::exists(fs::path(dir) / "run" / f));
  }
  // The saved config rebuilds the model: evaluating the run reproduces the test metrics.
  const json again = attune::classification::evaluate_run(dir + "/run", dir + "/test.csv", {}, "cpu");
  CHECK(again["accuracy"].get<double>() == summary["test"]["accuracy"].get<double>());
  CHECK(again["loss"].get<double>() == Approx(summary["test"]["loss"].get<double>()).epsilon(1e-6));

  const std::vector<json> rows =
      predictions(dir + "/run", "bread cheese soup dinner\n{\"text\": \"laptop server compiler code\"}\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["label"] == "food");
  CHECK(rows[1]["label"] == "tech");
  CHECK(rows[1]["probabilities"]["tech"].get<double>() > 0.5);
}

TEST_CASE("fixed seeds give the same run twice, and an interrupted run resumes exactly", "[classification][resume]") {
  const std::string dir = make_data("resume");
  std::ostringstream log;
  attune::tasks::train(tiny_config(dir, "a"), quiet(log));
  attune::tasks::train(tiny_config(dir, "b"), quiet(log));
  check_equal_weights(weights(dir + "/a"), weights(dir + "/b"));

  // Stop after step 9 (mid-epoch, between checkpoints at 7 and the epoch end), then resume.
  auto flags = quiet(log);
  flags.stop_requested = [](int64_t step) { return step == 9; };
  const json stopped = attune::tasks::train(tiny_config(dir, "c"), flags);
  CHECK(stopped["interrupted"] == true);
  CHECK(stopped["steps"] == 9);
  auto resume = quiet(log);
  resume.resume = true;
  json saved = json::parse(std::ifstream(dir + "/c/config.json"));
  const json resumed = attune::tasks::train(saved, resume);
  CHECK(resumed["interrupted"] == false);
  check_equal_weights(weights(dir + "/a"), weights(dir + "/c"));
  // The last checkpoint (final weights, not only the best) matches too.
  check_equal_weights(attune::formats::load_safetensors(dir + "/a/checkpoint-00000090/model.safetensors"),
                      attune::formats::load_safetensors(dir + "/c/checkpoint-00000090/model.safetensors"));
  // metrics.jsonl is the uninterrupted run's, line for line except timings.
  auto strip = [](const std::string& path) {
    std::ifstream f(path);
    std::vector<json> lines;
    for (std::string l; std::getline(f, l);) {
      json j = json::parse(l);
      j.erase("elapsed_s");
      j.erase("items_per_s");
      lines.push_back(j);
    }
    return lines;
  };
  CHECK(strip(dir + "/a/metrics.jsonl") == strip(dir + "/c/metrics.jsonl"));
}

TEST_CASE("training refuses bad data with errors naming file and line", "[classification][errors]") {
  const std::string dir = make_data("errors");
  std::ostringstream log;
  auto error_of = [&](json c) -> std::string {
    try {
      attune::tasks::train(c, quiet(log));
    } catch (const attune::UserError& e) {
      return e.what();
    }
    return "";
  };
  {
    std::ofstream(dir + "/unseen.csv") << "text,label\nhello,food\nbread,music\n";
    json c = tiny_config(dir, "r1");
    c["data"]["valid"] = dir + "/unseen.csv";
    CHECK(error_of(c) == dir + "/unseen.csv:3: label 'music' was not seen in training (known: food, sport, tech)");
  }
  {
    json c = tiny_config(dir, "r2");
    c["data"]["label_column"] = "category";
    CHECK(error_of(c).find("data.label_column: column 'category'") == 0);
  }
  {
    std::ofstream(dir + "/one_label.csv") << "text,label\na b,x\nc d,x\n";
    json c = tiny_config(dir, "r3");
    c["data"]["train"] = dir + "/one_label.csv";
    CHECK(error_of(c).find("needs at least two distinct labels") != std::string::npos);
  }
  {
    json c = tiny_config(dir, "r4");
    c["data"]["train"] = nullptr;
    CHECK(error_of(c) == "data.train: no training file given (set data.train)");
  }
  {
    json c = tiny_config(dir, "r5");
    c["train"]["epochs"] = 0;
    CHECK(error_of(c) == "train.epochs: value 0 out of range [1, 100000]");
  }
  {
    // A finished run is not overwritten by accident.
    json c = tiny_config(dir, "r6");
    c["train"]["epochs"] = 1;
    attune::tasks::train(c, quiet(log));
    CHECK(error_of(c).find("already holds a run") != std::string::npos);
  }
}

TEST_CASE("a PEFT run saves only its adapter, resumes exactly, and evaluates from the adapter", "[classification][peft]") {
  const std::string dir = make_data("peft");
  std::ostringstream log;
  auto lora = [&](const std::string& name) {
    json c = tiny_config(dir, name);
    attune::config::apply_overrides(c, {"peft.method=adalora", "peft.init_r=4", "peft.target_r=2",
                                        "peft.target_modules=[\"query\",\"value\",\"dense\"]", "train.epochs=3"});
    return c;
  };
  const json full = attune::tasks::train(lora("a"), quiet(log));
  INFO(log.str());
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "base_model.safetensors"}) {
    CHECK(fs::exists(fs::path(dir) / "a" / f));
  }
  CHECK_FALSE(fs::exists(fs::path(dir) / "a" / "model.safetensors"));
  CHECK(log.str().find("peft: adalora, trainable params: ") != std::string::npos);
  const json adapter_config = json::parse(std::ifstream(dir + "/a/adapter_config.json"));
  CHECK(adapter_config["peft_type"] == "ADALORA");
  CHECK(adapter_config["rank_pattern"].is_object());
  CHECK(adapter_config["modules_to_save"] == json({"classifier"}));

  auto flags = quiet(log);
  flags.stop_requested = [](int64_t step) { return step == 9; };
  attune::tasks::train(lora("c"), flags);
  auto resume = quiet(log);
  resume.resume = true;
  attune::tasks::train(json::parse(std::ifstream(dir + "/c/config.json")), resume);
  const auto a = attune::formats::load_safetensors(dir + "/a/adapter_model.safetensors");
  const auto c = attune::formats::load_safetensors(dir + "/c/adapter_model.safetensors");
  REQUIRE(a.names == c.names);
  for (const auto& name : a.names) {
    INFO(name);
    CHECK(torch::equal(a.tensors.at(name), c.tensors.at(name)));
  }
  // The base plus the saved adapter reproduce the test metrics.
  const json again = attune::classification::evaluate_run(dir + "/a", dir + "/test.csv", {}, "cpu");
  CHECK(again["loss"].get<double>() == Approx(full["test"]["loss"].get<double>()).epsilon(1e-6));
  // Merged into the base, it is a plain run with the same predictions.
  attune::classification::merge_run(dir + "/a", dir + "/merged", {});
  CHECK(fs::exists(fs::path(dir) / "merged" / "model.safetensors"));
  const json merged = attune::classification::evaluate_run(dir + "/merged", dir + "/test.csv", {}, "cpu");
  CHECK(merged["loss"].get<double>() == Approx(again["loss"].get<double>()).epsilon(1e-5));
  CHECK(merged["accuracy"] == again["accuracy"]);
}

TEST_CASE("soft attention pooling: a zero query is the masked mean; temperature; the entropy term", "[classification][pooling]") {
  torch::manual_seed(4);
  auto make = [](const std::string& pooling, double entropy_weight) {
    json c = attune::classification::default_config();
    c["model"] = {{"name", "bert"},       {"preset", nullptr},  {"hidden_size", 16},   {"num_layers", 1},
                  {"num_heads", 2},       {"intermediate_size", 32}, {"activation", "gelu"}, {"dropout", 0.0},
                  {"attention_dropout", 0.0}, {"max_length", 32},     {"pre_layer_norm", false}};
    c["head"] = {{"pooling", pooling}, {"dropout", 0.0}, {"temperature", 0.5}, {"entropy_weight", entropy_weight},
                 {"entropy_target", 0.5}};
    c["data"]["max_length"] = 32;
    return attune::classification::build_run_model(attune::classification::parse_config(c), 50, 3).model;
  };
  auto mean = make("mean", 0.0);
  auto attention = make("attention", 0.1);
  mean->eval();
  attention->eval();
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : mean->named_parameters()) attention->named_parameters()[item.key()].copy_(item.value());
  }
  const torch::Tensor ids = torch::randint(5, 50, {2, 7}, torch::kLong);
  torch::Tensor mask = torch::ones({2, 7}, torch::kLong);
  mask[1].narrow(0, 4, 3).zero_();
  CHECK(torch::allclose(attention->forward(ids, {}, mask), mean->forward(ids, {}, mask), 1e-5, 1e-6));
  // Uniform weights over 7 and 4 real tokens: normalised entropy 1, so the term is 0.1 * 0.25.
  CHECK(attention->regularizer().item<double>() == Approx(0.025));
  CHECK(attention->pooling_weights()[1].narrow(0, 4, 3).sum().item<double>() == Approx(0.0).margin(1e-9));
  {
    torch::NoGradGuard no_grad;
    attention->attention_query.normal_(0.0, 3.0);
  }
  attention->forward(ids, {}, mask);
  const torch::Tensor w = attention->pooling_weights();
  CHECK(torch::allclose(w.sum(1), torch::ones({2})));
  CHECK(w.max().item<double>() > 1.0 / 7 + 0.05);  // no longer uniform
  CHECK(attune::testing::error_of([&] {
          json c = attune::classification::default_config();
          c["head"]["pooling"] = "attention";
          c["peft"]["method"] = "lora";
          attune::classification::parse_config(c);
        }) == "head.pooling: attention pooling's query is not a PEFT module yet: use it with full fine-tuning");
}

namespace {

// Topic texts whose label is the sign of a context column, not the topic: only the
// context can tell the classes apart. A second column is noise.
void write_context_csv(const std::string& path, int n, uint32_t seed) {
  attune::testing::write_topics_csv(path + ".topics", n, seed);
  std::ifstream in(path + ".topics");
  std::ostringstream all;
  all << in.rdbuf();
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::ofstream out(path);
  out << "text,label,signal,noise\n";
  const std::string body = all.str().substr(all.str().find('\n') + 1);
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    // Each generated row is "...",label\n with no raw newline after the closing quote.
    const size_t close = body.find("\",", at);
    const size_t end = body.find('\n', close);
    const double signal = normal(rng) * 3.0 + 5.0;  // positive and negative around 5, off-centre on purpose
    out << body.substr(at, close + 1 - at) << "," << (signal > 5.0 ? "up" : "down") << "," << signal << ","
        << normal(rng) << "\n";
    at = end + 1;
  }
}

}  // namespace

TEST_CASE("context attention learns a label only the context columns carry", "[classification][context]") {
  const std::string dir = attune::testing::temp_dir("context");
  write_context_csv(dir + "/train.csv", 400, 11);
  write_context_csv(dir + "/valid.csv", 80, 12);
  write_context_csv(dir + "/test.csv", 80, 13);
  json c = tiny_config(dir, "run");
  c["data"]["context_columns"] = {"signal", "noise"};
  c["train"]["epochs"] = 8;
  std::ostringstream log;
  const json summary = attune::tasks::train(c, quiet(log));
  INFO(log.str());
  CHECK(summary["test"]["accuracy"].get<double>() > 0.85);
  const json saved = json::parse(std::ifstream(dir + "/run/config.json"));
  CHECK(saved["model"]["context_size"] == 2);
  // Evaluating the run reads the same columns; predictions take them as JSON keys.
  CHECK(attune::classification::evaluate_run(dir + "/run", dir + "/test.csv", {}, "cpu")["accuracy"] ==
        summary["test"]["accuracy"]);
  const std::vector<json> rows = predictions(dir + "/run",
                                             "{\"text\": \"bread soup\", \"signal\": 9.5, \"noise\": 0}\n"
                                             "{\"text\": \"bread soup\", \"signal\": \"0.5\", \"noise\": 0}\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["label"] == "up");
  CHECK(rows[1]["label"] == "down");
  std::ostringstream out;
  std::istringstream plain("bread soup\n");
  CHECK(attune::testing::error_of([&] { attune::classification::predict_run(dir + "/run", plain, "<in>", out, "cpu", 8); }) ==
        "<in>:1: this run's attention reads context columns: give objects with 'text', 'signal', 'noise'");
  std::istringstream bad("{\"text\": \"x\", \"signal\": \"high\", \"noise\": 0}\n");
  CHECK(attune::testing::error_of([&] { attune::classification::predict_run(dir + "/run", bad, "<in>", out, "cpu", 8); }) ==
        "<in>:1: context column 'signal' must hold a finite number, got 'high'");
  // The bundle takes the context columns as predict --run does and answers as the run,
  // with the raw values standardised inside the model.
  const json exported = attune::classification::export_run(dir + "/run", dir + "/bundle", false);
  CHECK(exported["check_max_abs_diff"].get<double>() < 1e-5);
  const json manifest = attune::io::read_json(dir + "/bundle/manifest.json");
  CHECK(manifest["inputs"].back()["name"] == "context");
  CHECK(manifest["inputs"].back()["shape"] == json({"batch", 2}));
  CHECK(manifest["text"]["context_columns"] == json({"signal", "noise"}));
  const std::string requests =
      "{\"text\": \"bread soup\", \"signal\": 9.5, \"noise\": 0}\n"
      "{\"text\": \"team goal match\", \"signal\": \"0.5\", \"noise\": 2}\n"
      "{\"text\": \"a very old soup\", \"signal\": 5.1, \"noise\": -1}\n";
  std::istringstream to_bundle(requests);
  std::ostringstream from_bundle;
  attune::classification::predict_bundle(dir + "/bundle", to_bundle, "<in>", from_bundle, "cpu", 2);
  const std::vector<json> run_rows = predictions(dir + "/run", requests);
  std::istringstream bundle_lines(from_bundle.str());
  size_t row = 0;
  for (std::string line; std::getline(bundle_lines, line); ++row) {
    REQUIRE(row < run_rows.size());
    const json got = json::parse(line);
    CHECK(got["label"] == run_rows[row]["label"]);
    for (const auto& item : run_rows[row]["probabilities"].items()) {
      CHECK(std::abs(got["probabilities"][item.key()].get<double>() - item.value().get<double>()) < 1e-5);
    }
  }
  CHECK(row == 3);
  std::istringstream plain_to_bundle("bread soup\n");
  CHECK(attune::testing::error_of([&] {
          attune::classification::predict_bundle(dir + "/bundle", plain_to_bundle, "<in>", out, "cpu", 8);
        }) == "<in>:1: this run's attention reads context columns: give objects with 'text', 'signal', 'noise'");
  CHECK(attune::testing::error_of([&] { attune::classification::export_run(dir + "/run", dir + "/base", false, attune::bundle::Precision::kFloat32, true); })
            .find("served adapters do not take yet") != std::string::npos);
  CHECK(attune::testing::error_of([&] { attune::classification::explain_text(dir + "/run", "bread", -1, "cpu"); }) ==
        dir + "/run: explain: this run's attention reads context columns, and explain takes a text only for now");
  // A bad cell fails naming file and line.
  {
    std::ofstream broken(dir + "/broken.csv");
    broken << "text,label,signal,noise\nbread,up,1,2\nsoup,down,n/a,1\n";
  }
  CHECK(attune::testing::error_of([&] { attune::classification::evaluate_run(dir + "/run", dir + "/broken.csv", {}, "cpu"); }) ==
        dir + "/broken.csv:3: context column 'signal' must hold a finite number, got 'n/a'");
}

TEST_CASE("a batch without padding runs without a mask and gives the masked logits", "[classification][pooling]") {
  torch::manual_seed(6);
  const torch::Tensor ids = torch::randint(5, 50, {3, 9}, torch::kLong);
  for (const std::string pooling : {"cls", "mean", "attention"}) {
    json c = attune::classification::default_config();
    c["model"] = {{"name", "bert"}, {"preset", nullptr}, {"hidden_size", 16}, {"num_layers", 2}, {"num_heads", 2},
                  {"intermediate_size", 32}, {"max_length", 32}};
    c["head"]["pooling"] = pooling;
    c["data"]["max_length"] = 32;
    auto model = attune::classification::build_run_model(attune::classification::parse_config(c), 50, 3).model;
    model->eval();
    const torch::Tensor with_mask = model->forward(ids, {}, torch::ones_like(ids));
    CHECK(torch::allclose(model->forward(ids, {}, torch::Tensor()), with_mask, 1e-5, 1e-6));
  }
  // collate tells the two kinds of batch apart on the host.
  attune::text::Encoding a{{5, 6, 7}, {0, 0, 0}}, b{{5, 6}, {0, 0}};
  CHECK_FALSE(attune::data::collate({&a, &a}, 0).padded);
  CHECK(attune::data::collate({&a, &b}, 0).padded);
}

namespace {

// Sixteen examples: the first eight of one length (a batch without padding), the rest of
// mixed lengths (a padded batch), so a run of them has two step shapes.
attune::classification::Examples two_shape_examples() {
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<int64_t> token(5, 49);
  attune::classification::Examples ex;
  for (int64_t i = 0; i < 16; ++i) {
    attune::text::Encoding e;
    const int64_t length = i < 8 ? 10 : 6 + i % 4;
    for (int64_t j = 0; j < length; ++j) e.ids.push_back(token(rng));
    e.type_ids.assign(e.ids.size(), 0);
    ex.texts.emplace_back();
    ex.where.push_back("gen:" + std::to_string(i + 1));
    ex.labels.push_back(i % 3);
    ex.encodings.push_back(std::move(e));
  }
  return ex;
}

struct GraphRig {
  attune::classification::RunModel run;
  std::unique_ptr<attune::classification::ClassificationTask> task;
  std::unique_ptr<attune::engine::AdamW> optimizer;
  attune::engine::TrainOptions options;
  std::unique_ptr<attune::engine::StepRunner> runner;

  GraphRig(const torch::Device& device, bool graphs, double dropout, const std::string& peft_method) {
    json c = attune::classification::default_config();
    c["model"] = {{"name", "bert"}, {"preset", nullptr}, {"hidden_size", 16}, {"num_layers", 2}, {"num_heads", 2},
                  {"intermediate_size", 32}, {"max_length", 32}, {"dropout", dropout}, {"attention_dropout", dropout}};
    c["head"]["dropout"] = dropout;
    if (!peft_method.empty()) c["peft"] = {{"method", peft_method}, {"r", 4}, {"target_modules", {"query", "value"}}};
    torch::manual_seed(4);
    c["data"]["max_length"] = 32;
    run = attune::classification::build_run_model(attune::classification::parse_config(c), 50, 3);
    run.model->to(device);
    run.model->train();
    task = std::make_unique<attune::classification::ClassificationTask>(
        run.model, run.peft, two_shape_examples(), attune::classification::Examples(),
        std::vector<std::string>{"a", "b", "c"}, 0, 8, 8, false);
    options.device = device;
    options.bf16 = false;  // float32 on both paths, so they can be compared closely
    options.cuda_graphs = graphs;
    optimizer = attune::engine::make_adamw(*run.model, options.optimizer);
    runner = std::make_unique<attune::engine::StepRunner>(*task, *optimizer, options);
  }
  double step(const attune::engine::BatchPlan& plan, int64_t b, uint64_t seed, double lr) {
    torch::manual_seed(seed);
    return runner->run(plan, b, b + 1, lr).loss.item<double>();
  }
};

const attune::engine::BatchPlan kTwoShapes = {{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9, 10, 11, 12, 13, 14, 15}};

}  // namespace

TEST_CASE("train.cuda_graphs off the GPU says why and steps as train_step", "[classification][cuda-graph]") {
  GraphRig graphs(torch::kCPU, true, 0.0, ""), plain(torch::kCPU, false, 0.0, "");
  CHECK_FALSE(graphs.runner->graphs_on());
  CHECK(graphs.runner->graphs_off_reason() == "the device is cpu");
  CHECK(plain.runner->graphs_off_reason().empty());
  for (int64_t i = 0; i < 4; ++i) CHECK(graphs.step(kTwoShapes, i % 2, i, 1e-3) == plain.step(kTwoShapes, i % 2, i, 1e-3));
  CHECK(torch::equal(graphs.run.model->parameters()[0], plain.run.model->parameters()[0]));
}

TEST_CASE("CUDA graphs replay the eager steps: losses, weights, AdamW counts, for each shape", "[classification][cuda-graph]") {
  if (!torch::cuda::is_available() || !attune::engine::CudaGraph::supported()) {
    WARN("no CUDA graphs here: the GPU session runs this test");
    return;
  }
  for (const std::string peft : {"", "lora"}) {
    INFO("peft: " << (peft.empty() ? "none" : peft));
    GraphRig graphs(torch::kCUDA, true, 0.0, peft), eager(torch::kCUDA, false, 0.0, peft);
    REQUIRE(graphs.runner->graphs_on());
    // Shapes alternate; each is eager once, captured on its second step, then replayed.
    for (int64_t i = 0; i < 8; ++i) {
      const double lr = 1e-2 * (1.0 - 0.1 * static_cast<double>(i));  // a schedule: the rate must follow it
      const double a = graphs.step(kTwoShapes, i % 2, i, lr), b = eager.step(kTwoShapes, i % 2, i, lr);
      INFO("step " << i);
      CHECK(a == Approx(b).epsilon(1e-5));
    }
    CHECK(graphs.runner->graphs_captured() == 2);
    const auto p = graphs.run.model->named_parameters(), q = eager.run.model->named_parameters();
    for (const auto& item : p) {
      INFO(item.key());
      CHECK(torch::allclose(item.value(), q[item.key()], 1e-4, 1e-6));
    }
    // Host step counts (what optimizer.pt saves) advanced once per replay too.
    CHECK(graphs.optimizer->state().size() == eager.optimizer->state().size());
    for (const auto& [key, state] : graphs.optimizer->state()) {
      CHECK(static_cast<const torch::optim::AdamWParamState&>(*state).step() == 8);
    }
  }
}

TEST_CASE("CUDA graphs draw new dropout for every replay, from the step's seed", "[classification][cuda-graph]") {
  if (!torch::cuda::is_available() || !attune::engine::CudaGraph::supported()) {
    WARN("no CUDA graphs here: the GPU session runs this test");
    return;
  }
  // lr 0 keeps the weights, so only dropout can change the loss of one batch.
  GraphRig rig(torch::kCUDA, true, 0.3, "");
  const attune::engine::BatchPlan one = {{0, 1, 2, 3, 4, 5, 6, 7}};
  const double eager = rig.step(one, 0, 11, 0.0);
  const double first = rig.step(one, 0, 11, 0.0);  // captured, then replayed
  const double again = rig.step(one, 0, 11, 0.0);
  const double other = rig.step(one, 0, 12, 0.0);
  REQUIRE(rig.runner->graphs_captured() == 1);
  CHECK(first == again);
  CHECK(first != other);
  CHECK(eager == Approx(first).epsilon(1e-5));
}
