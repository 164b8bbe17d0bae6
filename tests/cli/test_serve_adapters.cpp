// Many PEFT adapters on one base: the mixed batch against each adapter merged into the
// base (in process, below HTTP), then `attune serve --adapter` on loopback: requests per
// adapter, GET/POST/DELETE /adapters, hot-swap while a request is queued, bad adapters,
// the bearer token, startup errors.
#include "tests/catch.h"

#include "data/formats/safetensors.h"
#include "models/peft/mixed_batch.h"
#include "models/peft/peft_model.h"
#include "tasks/classification/config.h"
#include "tasks/classification/run_model.h"
#include "tasks/registry.h"
#include "tests/common/serve_metrics.h"
#include "tests/common/cli.h"
#include "tests/common/synthetic.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace serve_adapters_test {

attune::classification::Config tiny_config(const json& peft) {
  std::vector<std::string> sets = {"model.hidden_size=32", "model.num_layers=2", "model.num_heads=2",
                                   "model.intermediate_size=64", "model.dropout=0", "model.attention_dropout=0",
                                   "head.dropout=0", "data.train=unused.csv"};
  json config = attune::tasks::train_config(json::object(), "test", "text-classification", sets);
  config["peft"] = peft;
  return attune::classification::parse_config(config);
}

constexpr int64_t kVocab = 60, kLabels = 3;

// A PEFT adapter of `peft` on the base in base_path, its trainable tensors (the adapter's
// and the classifier head's) set to random values so that every one of them matters.
void write_random_adapter(const std::string& dir, const json& peft, const std::string& base_path, uint64_t seed) {
  torch::manual_seed(seed);
  attune::classification::RunModel run = attune::classification::build_run_model(tiny_config(peft), kVocab, kLabels, base_path);
  torch::NoGradGuard no_grad;
  for (auto& p : run.model->named_parameters(true)) {
    if (!p.value().requires_grad()) continue;
    const bool scale = p.key().find("ia3_l") != std::string::npos;
    p.value().copy_(scale ? 1.0 + 0.3 * torch::randn_like(p.value()) : 0.2 * torch::randn_like(p.value()));
  }
  run.peft->save_adapter(dir, "default", attune::classification::kPeftTaskType);
}

// The base of base_path with the adapter in dir merged into its weights.
attune::classification::TextClassifier merged(const std::string& base_path, const std::string& dir) {
  auto model = attune::classification::build_run_model(tiny_config({{"method", nullptr}}), kVocab, kLabels).model;
  attune::formats::load_module_tensors(*model, attune::formats::load_safetensors(base_path), base_path);
  if (!dir.empty()) {
    attune::peft::PeftModel peft(model.ptr());
    peft.load_adapter(dir, "a");
    peft.merge_and_unload();
  }
  model->eval();
  return model;
}

}  // namespace serve_adapters_test

TEST_CASE("mixed adapters: one batch equals, row by row, each adapter merged into the base", "[serve][adapters]") {
  using namespace serve_adapters_test;
  const std::string dir = attune::testing::temp_dir("mixed-adapters");
  torch::manual_seed(3);
  auto base = attune::classification::build_run_model(tiny_config({{"method", nullptr}}), kVocab, kLabels).model;
  const std::string base_path = dir + "/base.safetensors";
  attune::formats::save_safetensors(base_path, attune::formats::module_tensors(*base));
  const json targets = {"query", "key", "value", "dense"};
  write_random_adapter(dir + "/lora", {{"method", "lora"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", targets}},
                       base_path, 11);
  write_random_adapter(dir + "/rslora",
                       {{"method", "lora"}, {"r", 2}, {"lora_alpha", 3}, {"use_rslora", true}, {"target_modules", {"query", "value"}}},
                       base_path, 12);
  write_random_adapter(dir + "/ia3", {{"method", "ia3"}}, base_path, 13);  // keys, values (out), output.dense (in)

  base->eval();
  attune::peft::MixedBatchModel mixed(base.ptr());
  std::map<std::string, std::shared_ptr<const attune::peft::ServedAdapter>> adapters;
  for (const char* name : {"lora", "rslora", "ia3"}) {
    auto scratch = attune::classification::build_run_model(tiny_config({{"method", nullptr}}), kVocab, kLabels).model;
    adapters[name] = mixed.load(dir + "/" + name, name, scratch.ptr());
  }
  CHECK(adapters["lora"]->rank == 4);
  CHECK(adapters["rslora"]->rslora);
  CHECK(adapters["ia3"]->method == "ia3");
  CHECK(adapters["lora"]->bytes > 0);

  // 9 rows of different lengths (padding), adapters interleaved; "" is the base.
  const std::vector<std::string> row_adapter = {"lora", "", "ia3", "rslora", "lora", "ia3", "", "rslora", "lora"};
  const int64_t n = static_cast<int64_t>(row_adapter.size()), length = 9;
  const torch::Tensor ids = torch::randint(4, kVocab, {n, length}, torch::kLong);
  torch::Tensor mask = torch::ones({n, length}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) mask[i].narrow(0, length - i % 4, i % 4).zero_();
  const torch::Tensor types = torch::zeros({n, length}, torch::kLong);

  torch::NoGradGuard no_grad;
  std::vector<attune::peft::RowGroup> groups;
  for (const auto& [name, adapter] : adapters) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < n; ++i) {
      if (row_adapter[i] == name) rows.push_back(i);
    }
    groups.push_back({torch::tensor(rows), adapter});
  }
  torch::Tensor got;
  {
    attune::peft::MixedBatchModel::Routing routing(mixed, groups);
    got = base->forward(ids, types, mask);
  }
  // Routing gone: the same model is the base again.
  const torch::Tensor base_again = base->forward(ids, types, mask);
  for (int64_t i = 0; i < n; ++i) {
    const std::string& a = row_adapter[i];
    auto reference = merged(base_path, a.empty() ? "" : dir + "/" + a);
    const torch::Tensor want = reference->forward(ids, types, mask)[i];
    INFO("row " << i << " adapter '" << a << "'");
    CHECK((got[i] - want).abs().max().item<double>() < 1e-5);
    // Each adapter changes its rows (so a test that ignored the routing would fail).
    if (!a.empty()) CHECK((got[i] - base_again[i]).abs().max().item<double>() > 1e-3);
  }
  CHECK((base_again - merged(base_path, "")->forward(ids, types, mask)).abs().max().item<double>() < 1e-6);
}

TEST_CASE("mixed adapters: adapters that do not fit the base are one-line errors naming the file", "[serve][adapters]") {
  using namespace serve_adapters_test;
  const std::string dir = attune::testing::temp_dir("mixed-adapters-bad");
  torch::manual_seed(4);
  auto base = attune::classification::build_run_model(tiny_config({{"method", nullptr}}), kVocab, kLabels).model;
  const std::string base_path = dir + "/base.safetensors";
  attune::formats::save_safetensors(base_path, attune::formats::module_tensors(*base));
  attune::peft::MixedBatchModel mixed(base.ptr());
  auto error_of = [&](const std::string& adapter_dir) -> std::string {
    auto scratch = attune::classification::build_run_model(tiny_config({{"method", nullptr}}), kVocab, kLabels).model;
    try {
      mixed.load(adapter_dir, "x", scratch.ptr());
    } catch (const attune::UserError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error_of(dir + "/none") == dir + "/none: adapter directory does not exist");
  fs::create_directories(dir + "/empty");
  CHECK(error_of(dir + "/empty") == dir + "/empty: not an adapter directory (no adapter_config.json)");
  fs::create_directories(dir + "/malformed");
  std::ofstream(dir + "/malformed/adapter_config.json") << "{\"peft_type\": ";
  CHECK(error_of(dir + "/malformed").rfind(dir + "/malformed/adapter_config.json", 0) == 0);
  fs::create_directories(dir + "/unknown");
  std::ofstream(dir + "/unknown/adapter_config.json") << R"({"peft_type": "LOHA"})";
  CHECK(error_of(dir + "/unknown").find("adapter_config.json: peft_type: 'LOHA' is not supported") != std::string::npos);
  write_random_adapter(dir + "/bottleneck", {{"method", "bottleneck"}}, base_path, 5);
  CHECK(error_of(dir + "/bottleneck").find("adapter_config.json: peft_type: method 'bottleneck' cannot share a batch") !=
        std::string::npos);
  write_random_adapter(dir + "/bias", {{"method", "lora"}, {"bias", "all"}}, base_path, 6);
  CHECK(error_of(dir + "/bias").find("adapter_config.json: bias: 'all' trains base biases") != std::string::npos);
  write_random_adapter(dir + "/lora", {{"method", "lora"}}, base_path, 7);
  fs::copy(dir + "/lora", dir + "/no-weights", fs::copy_options::recursive);
  fs::remove(dir + "/no-weights/adapter_model.safetensors");
  CHECK(error_of(dir + "/no-weights") == dir + "/no-weights: adapter has no adapter_model.safetensors");
  // Target modules the base does not have.
  fs::copy(dir + "/lora", dir + "/targets", fs::copy_options::recursive);
  json config = json::parse(attune::testing::slurp(dir + "/targets/adapter_config.json"));
  config["target_modules"] = {"q_proj"};
  std::ofstream(dir + "/targets/adapter_config.json") << config.dump();
  CHECK(error_of(dir + "/targets").find("target_modules: [\"q_proj\"] matches no linear layer of the model") !=
        std::string::npos);
  // Shapes of another base: r in the config does not match the tensors.
  fs::copy(dir + "/lora", dir + "/shapes", fs::copy_options::recursive);
  config = json::parse(attune::testing::slurp(dir + "/shapes/adapter_config.json"));
  config["r"] = 4;
  std::ofstream(dir + "/shapes/adapter_config.json") << config.dump();
  CHECK(error_of(dir + "/shapes").find("adapter_model.safetensors: tensor 'base_model.model.") != std::string::npos);
  CHECK(error_of(dir + "/shapes").find("has shape") != std::string::npos);
}

#if ATTUNE_HAS_SERVE
#include "tests/common/processes.h"

#include <httplib.h>

#include <future>
#include <thread>

namespace serve_adapters_test {

struct Fixture {
  std::string dir, bundle, plain_bundle, lora, ia3;
};

std::vector<std::string> tiny_run(const std::string& dir, const std::string& run, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"train", "--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu", "--set",
                                   "threads=1", "--set", "data.train=" + dir + "/train.csv", "--set",
                                   "data.max_length=24", "--set", "tokenizer.vocab_size=120", "--set",
                                   "model.hidden_size=32", "--set", "model.num_layers=1", "--set", "model.num_heads=2",
                                   "--set", "model.intermediate_size=64", "--set", "train.max_steps=8", "--set",
                                   "train.eval_every=8", "--set", "train.batch_size=16", "--set", "train.lr=5e-3"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A full run exported with --adapter-base, and a LoRA and an IA3 run trained on it (init).
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.dir = attune::testing::temp_dir("serve-adapters");
    attune::testing::write_topics_csv(x.dir + "/train.csv", 96, 5);
    auto ok = [](const std::vector<std::string>& args) {
      const auto r = attune::testing::run_attune(args);
      INFO(r.err);
      REQUIRE(r.status == 0);
    };
    ok(tiny_run(x.dir, "base", {}));
    ok(tiny_run(x.dir, "lora", {"--set", "init=" + x.dir + "/base", "--set", "peft.method=lora", "--set", "peft.r=4",
                                "--set", "peft.lora_alpha=16", "--set", "train.lr=3e-2"}));
    ok(tiny_run(x.dir, "ia3", {"--set", "init=" + x.dir + "/base", "--set", "peft.method=ia3", "--set", "train.lr=3e-2"}));
    ok({"export", "--run", x.dir + "/base", "--out", x.dir + "/bundle", "--adapter-base", "--overwrite"});
    ok({"export", "--run", x.dir + "/base", "--out", x.dir + "/plain-bundle", "--overwrite"});
    x.bundle = x.dir + "/bundle";
    x.plain_bundle = x.dir + "/plain-bundle";
    x.lora = x.dir + "/lora";
    x.ia3 = x.dir + "/ia3";
    return x;
  }();
  return f;
}

struct Server {
  attune::testing::Process process;
  int port = 0;
  ~Server() {
    if (process.pid > 0 && process.status < 0) {
      ::kill(process.pid, SIGTERM);
      attune::testing::wait_for(process, std::chrono::seconds(20));
    }
  }
};

std::unique_ptr<Server> start(const std::string& name, const std::vector<std::string>& extra) {
  const std::string dir = attune::testing::temp_dir("serve-adapters-" + name);
  std::vector<std::string> args = {"serve", "--bundle", fixture().bundle, "--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto s = std::make_unique<Server>();
  s->process = attune::testing::spawn_attune(args, {}, dir + "/serve");
  for (int i = 0; i < 600 && s->port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string out = s->process.out();
    const auto at = out.find("http://127.0.0.1:");
    if (at != std::string::npos) s->port = std::atoi(out.c_str() + at + 17);
  }
  INFO(s->process.err());
  REQUIRE(s->port > 0);
  return s;
}

const std::vector<std::string> kTexts = {"the match goal team", "election vote party", "stock market price shares",
                                         "a goal in the last minute", "the party won the vote"};

// What `attune predict` prints for kTexts: {"label", "probabilities"} per line.
std::vector<json> predicted(const std::vector<std::string>& source) {
  std::string input;
  for (const auto& t : kTexts) input += t + "\n";
  std::vector<std::string> args = {"predict"};
  args.insert(args.end(), source.begin(), source.end());
  const auto r = attune::testing::run_attune(args, input);
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::vector<json> rows;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  REQUIRE(rows.size() == kTexts.size());
  return rows;
}

double probability_difference(const json& a, const json& b) {
  double worst = 0;
  for (const auto& item : a.at("probabilities").items()) {
    worst = std::max(worst, std::abs(item.value().get<double>() - b.at("probabilities").at(item.key()).get<double>()));
  }
  return worst;
}

double max_difference(const json& a, const json& b) {
  CHECK(a.at("label") == b.at("label"));
  return probability_difference(a, b);
}

httplib::Result predict(httplib::Client& client, const std::string& adapter, const httplib::Headers& headers = {}) {
  json body = {{"inputs", kTexts}};
  if (!adapter.empty()) body["adapter"] = adapter;
  return client.Post("/predict", headers, body.dump(), "application/json");
}

int64_t metric(int port, const std::string& name) { return attune::testing::serve_metric(port, name); }

}  // namespace serve_adapters_test

TEST_CASE("serve --adapter: requests of different adapters share batches and equal each run's predict",
          "[cli][serve][adapters]") {
  using namespace serve_adapters_test;
  const Fixture& f = fixture();
  const std::vector<json> base = predicted({"--bundle", f.plain_bundle});
  const std::vector<json> lora = predicted({"--run", f.lora});
  const std::vector<json> ia3 = predicted({"--run", f.ia3});
  // A long wait gathers the three concurrent requests into one batch.
  auto s = start("mixed", {"--adapter", "lora=" + f.lora, "--adapter", "ia3=" + f.ia3, "--max-wait-ms", "300"});
  std::vector<std::future<httplib::Result>> answers;
  for (const std::string adapter : {"lora", "", "ia3"}) {
    answers.push_back(std::async(std::launch::async, [adapter, port = s->port] {
      httplib::Client client("127.0.0.1", port);
      return predict(client, adapter);
    }));
  }
  const std::vector<const std::vector<json>*> expected = {&lora, &base, &ia3};
  for (size_t k = 0; k < answers.size(); ++k) {
    const auto res = answers[k].get();
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    const json outputs = json::parse(res->body)["outputs"];
    for (size_t i = 0; i < kTexts.size(); ++i) CHECK(max_difference(outputs[i], (*expected[k])[i]) < 1e-5);
  }
  // The adapters change the answers, so that the comparison above means something.
  CHECK(probability_difference(lora[0], base[0]) > 1e-4);
  CHECK(probability_difference(ia3[0], base[0]) > 1e-4);
  CHECK(metric(s->port, "attune_batches_total") < 3);
  CHECK(metric(s->port, "attune_base_requests_total") == 1);
  httplib::Client client("127.0.0.1", s->port);
  const std::string metrics = client.Get("/metrics")->body;
  CHECK(metrics.find("attune_adapter_requests_total{adapter=\"lora\"} 1") != std::string::npos);
  CHECK(metrics.find("attune_adapter_requests_total{adapter=\"ia3\"} 1") != std::string::npos);
  const auto unknown = predict(client, "nope");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(json::parse(unknown->body)["error"] == "adapter: no adapter 'nope' (loaded: ia3, lora)");
  const auto bad = client.Post("/predict", R"({"inputs": ["x"], "adapter": 3})", "application/json");
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["error"] == "adapter: must be an adapter's name (a non-empty string), got 3");
}

TEST_CASE("serve --adapter: GET, POST and DELETE /adapters, paths outside --adapter-root refused", "[cli][serve][adapters]") {
  using namespace serve_adapters_test;
  const Fixture& f = fixture();
  const std::string root = attune::testing::temp_dir("serve-adapters-root");
  fs::remove_all(root + "/ia3");
  fs::copy(f.ia3, root + "/ia3", fs::copy_options::recursive);
  auto s = start("endpoints", {"--adapter", "lora=" + f.lora, "--adapter-root", root});
  httplib::Client client("127.0.0.1", s->port);
  json list = json::parse(client.Get("/adapters")->body)["adapters"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["name"] == "lora");
  CHECK(list[0]["method"] == "lora");
  CHECK(list[0]["rank"] == 4);
  CHECK(list[0]["bytes"].get<int64_t>() > 0);

  auto post = [&](const json& body) { return client.Post("/adapters", body.dump(), "application/json"); };
  auto res = post({{"name", "topics-ia3"}, {"path", root + "/ia3"}});
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  CHECK(json::parse(res->body)["replaced"] == false);
  CHECK(json::parse(res->body)["method"] == "ia3");
  CHECK(predict(client, "topics-ia3")->status == 200);
  CHECK(json::parse(client.Get("/adapters")->body)["adapters"].size() == 2);

  // Outside the root, also through "..": 403. Inside but broken: 400, naming the file.
  res = post({{"name", "x"}, {"path", f.lora}});
  CHECK(res->status == 403);
  CHECK(json::parse(res->body)["error"] == "path: " + f.lora + " is outside the --adapter-root directories");
  CHECK(post({{"name", "x"}, {"path", root + "/../serve-adapters/lora"}})->status == 403);
  res = post({{"name", "x"}, {"path", root + "/missing"}});
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["error"] == root + "/missing: adapter directory does not exist");
  fs::create_directories(root + "/malformed");
  std::ofstream(root + "/malformed/adapter_config.json") << "{\"peft_type\": \"LORA\", \"r\": ";
  res = post({{"name", "x"}, {"path", root + "/malformed"}});
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["error"].get<std::string>().rfind(root + "/malformed/adapter_config.json", 0) == 0);
  // Same shapes, another base: the run's base_model.safetensors differs from the served one.
  fs::remove_all(root + "/other-base");
  fs::copy(f.lora, root + "/other-base", fs::copy_options::recursive);
  {
    auto weights = attune::formats::load_safetensors(root + "/other-base/base_model.safetensors");
    attune::formats::NamedTensors changed;
    for (const auto& n : weights.names) changed.emplace_back(n, n.find("embeddings.word") != std::string::npos
                                                                     ? weights.tensors.at(n) + 0.5
                                                                     : weights.tensors.at(n));
    attune::formats::save_safetensors(root + "/other-base/base_model.safetensors", changed);
  }
  res = post({{"name", "x"}, {"path", root + "/other-base"}});
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["error"].get<std::string>().find(
            "other-base/base_model.safetensors: tensor 'bert.embeddings.word_embeddings.weight' differs from the "
            "served base's: the adapter was trained on another base model") != std::string::npos);
  res = post({{"name", "bad name!"}, {"path", root + "/ia3"}});
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["error"].get<std::string>().rfind("name: invalid adapter name 'bad name!'", 0) == 0);
  CHECK(client.Post("/adapters", "{", "application/json")->status == 400);
  // The server kept serving the good ones.
  CHECK(predict(client, "lora")->status == 200);

  res = client.Delete("/adapters/topics-ia3");
  CHECK(res->status == 200);
  CHECK(predict(client, "topics-ia3")->status == 404);
  res = client.Delete("/adapters/topics-ia3");
  CHECK(res->status == 404);
  CHECK(json::parse(res->body)["error"] == "no adapter 'topics-ia3' (loaded: lora)");
  CHECK(metric(s->port, "attune_adapters_loaded") == 1);

  // Without --adapter-root nothing loads over HTTP.
  auto fixed = start("no-root", {"--adapter", "lora=" + f.lora});
  httplib::Client other("127.0.0.1", fixed->port);
  res = other.Post("/adapters", json{{"name", "x"}, {"path", root + "/ia3"}}.dump(), "application/json");
  CHECK(res->status == 403);
  CHECK(json::parse(res->body)["error"] ==
        "path: this server loads no adapters over HTTP (start it with --adapter-root DIR)");
}

TEST_CASE("serve --adapter: a request queued when its adapter is deleted or replaced finishes on it",
          "[cli][serve][adapters]") {
  using namespace serve_adapters_test;
  const Fixture& f = fixture();
  const std::string root = attune::testing::temp_dir("serve-adapters-swap");
  const std::vector<json> lora = predicted({"--run", f.lora});
  const std::vector<json> ia3 = predicted({"--run", f.ia3});
  // Each request waits 1.5 s in the queue for company: time to change the adapters under it.
  auto s = start("swap", {"--adapter", "a=" + f.lora, "--adapter", "b=" + f.lora, "--adapter-root", f.dir,
                          "--max-wait-ms", "1500"});
  auto queued = [&] {
    for (int i = 0; i < 400; ++i) {
      if (metric(s->port, "attune_queued_inputs") > 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  auto send = [&](const std::string& adapter) {
    return std::async(std::launch::async, [adapter, port = s->port] {
      httplib::Client client("127.0.0.1", port);
      return predict(client, adapter);
    });
  };
  httplib::Client client("127.0.0.1", s->port);
  auto deleted = send("a");
  REQUIRE(queued());
  CHECK(client.Delete("/adapters/a")->status == 200);
  auto answer = deleted.get();
  REQUIRE(answer);
  REQUIRE(answer->status == 200);
  CHECK(max_difference(json::parse(answer->body)["outputs"][0], lora[0]) < 1e-5);
  CHECK(predict(client, "a")->status == 404);

  auto replaced = send("b");
  REQUIRE(queued());
  const auto swap = client.Post("/adapters", json{{"name", "b"}, {"path", f.ia3}}.dump(), "application/json");
  REQUIRE(swap->status == 200);
  CHECK(json::parse(swap->body)["replaced"] == true);
  answer = replaced.get();
  REQUIRE(answer->status == 200);
  CHECK(max_difference(json::parse(answer->body)["outputs"][0], lora[0]) < 1e-5);
  answer = predict(client, "b");
  REQUIRE(answer->status == 200);
  CHECK(max_difference(json::parse(answer->body)["outputs"][0], ia3[0]) < 1e-5);
}

TEST_CASE("serve --adapter: the bearer token guards /adapters; bad flags and adapters stop the start",
          "[cli][serve][adapters]") {
  using namespace serve_adapters_test;
  const Fixture& f = fixture();
  const std::string dir = attune::testing::temp_dir("serve-adapters-auth");
  std::ofstream(dir + "/token") << "tok-1\n";
  auto s = start("auth-server", {"--adapter", "lora=" + f.lora, "--adapter-root", f.dir, "--auth-token-file", dir + "/token"});
  httplib::Client client("127.0.0.1", s->port);
  CHECK(client.Get("/adapters")->status == 401);
  CHECK(client.Post("/adapters", json{{"name", "x"}, {"path", f.ia3}}.dump(), "application/json")->status == 401);
  CHECK(client.Delete("/adapters/lora")->status == 401);
  CHECK(predict(client, "lora")->status == 401);
  const httplib::Headers token = {{"Authorization", "Bearer tok-1"}};
  CHECK(client.Get("/adapters", token)->status == 200);
  CHECK(predict(client, "lora", token)->status == 200);
  CHECK(client.Delete("/adapters/lora", token)->status == 200);

  auto refused = [&](const std::vector<std::string>& flags, const std::string& message) {
    std::vector<std::string> args = {"serve", "--bundle", f.bundle, "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto r = attune::testing::run_attune(args);
    INFO("stderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find("attune: error: " + message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  };
  refused({"--adapter", "lora"}, "--adapter: expected NAME=DIR, got 'lora'");
  refused({"--adapter", "a b=" + f.lora}, "--adapter: invalid adapter name 'a b'");
  refused({"--adapter", "a=" + f.lora, "--adapter", "a=" + f.ia3}, "--adapter: adapter name 'a' is given twice");
  refused({"--adapter", "a=" + dir + "/none"}, "--adapter a: " + dir + "/none: adapter directory does not exist");
  refused({"--adapter-root", dir + "/none"}, "--adapter-root: " + dir + "/none is not a directory");
  std::vector<std::string> plain = {"serve", "--bundle", f.plain_bundle, "--adapter", "a=" + f.lora};
  const auto r = attune::testing::run_attune(plain);
  CHECK(r.status == 2);
  CHECK(r.err.find("manifest.json: missing key 'adapter_base': serving adapters needs the base's weights in the "
                   "bundle (attune export --adapter-base)") != std::string::npos);
}
TEST_CASE("export --adapter-base of a PEFT run: model.pt is its base, and its adapter served on it equals predict --run",
          "[cli][serve][adapters]") {
  using namespace serve_adapters_test;
  const Fixture& f = fixture();
  const std::string out = f.dir + "/lora-base-bundle";
  auto r = attune::testing::run_attune({"export", "--run", f.lora, "--out", out, "--adapter-base", "--overwrite"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(json::parse(r.out)["peft"]["merged"] == false);
  // The run's base is the init run's encoder with the run's untrained head: not the run.
  const std::vector<json> base = predicted({"--bundle", out});
  const std::vector<json> run = predicted({"--run", f.lora});
  CHECK(probability_difference(base[0], run[0]) > 1e-4);
  const std::string dir = attune::testing::temp_dir("serve-adapters-peft-base");
  auto s = attune::testing::spawn_attune({"serve", "--bundle", out, "--port", "0", "--adapter", "own=" + f.lora}, {},
                                         dir + "/serve");
  int port = 0;
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string text = s.out();
    const auto at = text.find("http://127.0.0.1:");
    if (at != std::string::npos) port = std::atoi(text.c_str() + at + 17);
  }
  REQUIRE(port > 0);
  httplib::Client client("127.0.0.1", port);
  for (const std::string adapter : {"own", ""}) {
    const auto res = predict(client, adapter);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const json outputs = json::parse(res->body)["outputs"];
    for (size_t i = 0; i < kTexts.size(); ++i) CHECK(max_difference(outputs[i], (adapter.empty() ? base : run)[i]) < 1e-5);
  }
  ::kill(s.pid, SIGTERM);
  attune::testing::wait_for(s, std::chrono::seconds(20));
  r = attune::testing::run_attune({"export", "--run", f.lora, "--out", out, "--adapter-base", "--int8", "--overwrite"});
  CHECK(r.status == 2);
  CHECK(r.err == "attune: error: --adapter-base: adapters are served on a float32 base; leave out --int8\n");
}
#endif
