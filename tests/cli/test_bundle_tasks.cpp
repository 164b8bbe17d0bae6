// Bundles of masked-LM and recommendation runs through the real `attune` binary: export,
// predict --bundle against predict --run, and attune serve against predict --bundle, with
// bad requests answered 400 naming the input and the key.
#include "tests/catch.h"

#include "core/files.h"
#include "tests/common/cli.h"
#include "tests/common/cli_checks.h"
#include "tests/common/hf_arch_tokenizer.h"
#include "tests/common/synthetic.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#if ATTUNE_HAS_SERVE
#include "tests/common/serve_process.h"

#include <httplib.h>

#include <csignal>
#endif

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers to itself.
namespace attune::bundle_tasks_cli_test {

using nlohmann::json;
using attune::testing::check_user_error;
using attune::testing::json_lines;
using attune::testing::Result;
using attune::testing::run_attune;

namespace {

Result ok(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  const Result r = run_attune(args, stdin_text);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return r;
}

#if ATTUNE_HAS_SERVE
// POST /predict of `inputs` to a server started on `bundle`; SIGTERM when done.
struct Served {
  attune::testing::Server server;
  explicit Served(const std::string& bundle, const std::string& dir) : server(attune::testing::start_server(bundle, dir)) {}
  ~Served() { ::kill(server.pid, SIGTERM); }
  httplib::Result post(const std::string& body) const {
    httplib::Client client("127.0.0.1", server.port);
    return client.Post("/predict", body, "application/json");
  }
};

// A bad body's answer: 400 with an error that contains `message`.
void check_refused(const Served& served, const std::string& body, const std::string& message) {
  CAPTURE(body);
  const auto res = served.post(body);
  REQUIRE(res);
  CHECK(res->status == 400);
  const std::string error = json::parse(res->body)["error"].get<std::string>();
  CHECK(error.find(message) != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);
}
#endif

}  // namespace

TEST_CASE("mlm bundles: export, predict --bundle as predict --run, serve as predict --bundle", "[cli][mlm][bundle]") {
  const std::string dir = attune::testing::temp_dir("cli-mlm-bundle");
  attune::testing::write_sentences(dir + "/train.txt", 200, 3);
  ok({"pretrain", "--set", "run_dir=" + dir + "/run", "--set", "device=cpu", "--set", "data.train=" + dir + "/train.txt",
      "--set", "tokenizer.vocab_size=120", "--set", "model.preset=null", "--set", "model.hidden_size=32", "--set",
      "model.num_layers=1", "--set", "model.num_heads=2", "--set", "model.intermediate_size=64", "--set",
      "mlm.max_length=24", "--set", "train.max_steps=8", "--set", "train.eval_every=8", "--set", "train.batch_size=8"});
  const json summary = json::parse(ok({"export", "--run", dir + "/run", "--out", dir + "/bundle"}).out);
  CHECK(summary["task"] == "mlm");
  check_user_error(run_attune({"export", "--run", dir + "/run", "--out", dir + "/int8", "--int8"}),
                   "--int8: int8 bundles are made for text-classification, image-classification and translation runs");
  check_user_error(run_attune({"export", "--run", dir + "/run", "--out", dir + "/bf16", "--bf16"}),
                   "--bf16: bfloat16 bundles are made for text-classification runs");

  const std::vector<std::string> texts = {"the [MASK] purrs in the kitchen.", "the old dog [MASK] in the [MASK].",
                                          "[MASK] hamster nibbles"};
  std::string lines, too_long;
  for (const auto& t : texts) lines += t + "\n";
  for (int i = 0; i < 20; ++i) too_long += "the cat ";
  too_long += "[MASK]";
  const std::string from_run = ok({"predict", "--run", dir + "/run"}, lines + "no mask\n").out;
  const std::string from_bundle = ok({"predict", "--bundle", dir + "/bundle"}, lines + "no mask\n").out;
  CHECK(from_bundle == from_run);
  const std::vector<json> expected = json_lines(from_bundle);
  REQUIRE(expected.size() == 4);
  check_user_error(run_attune({"predict", "--bundle", dir + "/bundle"}, "ok [MASK]\n" + too_long + "\n"),
                   "<stdin>:2: ");

#if ATTUNE_HAS_SERVE
  const Served served(dir + "/bundle", dir);
  const auto res = served.post(json{{"inputs", texts}}.dump());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json outputs = json::parse(res->body)["outputs"];
  REQUIRE(outputs.size() == texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    json without_ids = outputs[i];
    for (auto& candidates : without_ids["masks"])
      for (auto& c : candidates) {
        CHECK(c["id"].is_number_integer());
        c.erase("id");
      }
    CHECK(without_ids == expected[i]);
  }
  check_refused(served, R"({"inputs": ["the [MASK] sleeps", 7]})", "inputs[1]: expected a text with [MASK] (a string), got number");
  check_refused(served, R"({"inputs": ["no mask here"]})", "inputs[0]: no [MASK] in the text: nothing to fill in");
  check_refused(served, json{{"input", too_long}}.dump(), "input: ");
  check_refused(served, json{{"input", too_long}}.dump(), "tokens exceed mlm.max_length 24");
#endif
}

TEST_CASE("recommendation bundles: export, predict --bundle as predict --run, serve as predict --bundle",
          "[cli][recommendation][bundle]") {
  const std::string dir = attune::testing::temp_dir("cli-rec-bundle");
  attune::testing::write_walks(dir, 40, 5);
  ok({"train", "--task", "recommendation", "--set", "run_dir=" + dir + "/run", "--set", "device=cpu", "--set",
      "data.interactions=" + dir + "/walks.csv", "--set", "data.time_column=t", "--set", "data.k_core=1", "--set",
      "data.max_history=6", "--set", "model.name=sasrec", "--set", "model.hidden_size=32", "--set",
      "model.num_layers=1", "--set", "model.num_heads=2", "--set", "model.intermediate_size=64", "--set",
      "objective.loss=softmax", "--set", "train.epochs=2"});
  const json summary = json::parse(ok({"export", "--run", dir + "/run", "--out", dir + "/bundle"}).out);
  CHECK(summary["model"] == "sasrec");
  CHECK(summary["items"] == 20);

  const std::vector<json> requests = {json::parse(R"({"history": ["m3", "m4", "m5"]})"),
                                      json::parse(R"({"history": ["m7"], "exclude": [], "k": 3})"),
                                      json::parse(R"({"history": ["m1", "m2"], "exclude": ["m3"], "k": 25})")};
  std::string lines;
  for (const auto& r : requests) lines += r.dump() + "\n";
  const std::string from_run = ok({"predict", "--run", dir + "/run"}, lines).out;
  CHECK(ok({"predict", "--bundle", dir + "/bundle"}, lines).out == from_run);
  CHECK(ok({"recommend", "--run", dir + "/run"}, lines).out == from_run);
  const std::vector<json> expected = json_lines(from_run);
  REQUIRE(expected.size() == 3);
  CHECK(expected[0]["items"].size() == 10);
  CHECK(expected[1]["items"].size() == 3);
  CHECK(expected[2]["items"].size() == 19);
  check_user_error(run_attune({"predict", "--bundle", dir + "/bundle"}, "{\"user\": \"u1\"}\n"),
                   "<stdin>:1: \"user\": a bundle holds no user histories (give \"history\")");

#if ATTUNE_HAS_SERVE
  const Served served(dir + "/bundle", dir);
  const auto res = served.post(json{{"inputs", requests}}.dump());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const json outputs = json::parse(res->body)["outputs"];
  REQUIRE(outputs.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK(outputs[i] == expected[i]);
  const auto one = served.post(json{{"input", requests[1]}}.dump());
  REQUIRE(one);
  CHECK(json::parse(one->body)["outputs"][0] == expected[1]);
  check_refused(served, R"({"inputs": [{"history": ["m1"]}, {"history": ["m1", "zzz"]}]})",
                "inputs[1]: unknown item 'zzz' in \"history\" (not in the run's catalogue)");
  check_refused(served, R"({"inputs": [{"history": []}]})", "inputs[0]: empty history: nothing to recommend from");
  check_refused(served, R"({"inputs": [{"history": ["m1"], "k": 0}]})", "inputs[0]: \"k\" must be an integer >= 1");
  check_refused(served, R"({"inputs": [{"history": ["m1"], "exclude": "m2"}]})",
                "inputs[0]: \"exclude\" must be a list of item ids");
  check_refused(served, R"({"inputs": [{"history": "m1"}]})", "inputs[0]: \"history\" must be a list of item ids");
  check_refused(served, R"({"inputs": [{"user": "u1"}]})", "inputs[0]: \"user\": a bundle holds no user histories");
  check_refused(served, R"({"inputs": ["m1"]})", "inputs[0]: expected an object with \"history\"");
#endif
}

TEST_CASE("HF-architecture bundles (RoBERTa, DistilBERT): convert, export, predict --bundle as predict --run, serve",
          "[cli][hfarch][bundle]") {
  namespace fs = std::filesystem;
  for (const std::string name : {"roberta-seqcls", "distilbert-seqcls"}) {
    CAPTURE(name);
    const std::string dir = attune::testing::temp_dir("cli-arch-bundle-" + name);
    fs::copy(std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/hf_arch/" + name, dir + "/hf");
    attune::testing::write_fixture_tokenizer(dir + "/hf");
    ok({"convert", "--from-hf", dir + "/hf", "--out", dir + "/run"});
    const json summary = json::parse(ok({"export", "--run", dir + "/run", "--out", dir + "/bundle"}).out);
    CHECK(summary["check_max_abs_diff"] == 0.0);
    const std::vector<std::string> texts = {"w5 w17 w42", "w9", "w60 w61 w62 w63 w64 w65 w66 w67 w68", "unknown words"};
    std::string lines;
    for (const auto& t : texts) lines += t + "\n";
    const std::string from_run = ok({"predict", "--run", dir + "/run"}, lines).out;
    const std::string from_bundle = ok({"predict", "--bundle", dir + "/bundle"}, lines).out;
    CHECK(from_bundle == from_run);
    const std::vector<json> expected = json_lines(from_bundle);
    REQUIRE(expected.size() == texts.size());

#if ATTUNE_HAS_SERVE
    const Served served(dir + "/bundle", dir);
    const auto res = served.post(json{{"inputs", texts}}.dump());
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const json outputs = json::parse(res->body)["outputs"];
    REQUIRE(outputs.size() == texts.size());
    // The server batches requests its own way: the same labels, probabilities to float32's last bits.
    for (size_t i = 0; i < texts.size(); ++i) {
      CHECK(outputs[i]["label"] == expected[i]["label"]);
      for (const auto& [label, p] : expected[i]["probabilities"].items()) {
        CHECK(std::abs(outputs[i]["probabilities"][label].get<double>() - p.get<double>()) < 1e-6);
      }
    }
    check_refused(served, R"({"inputs": ["w5", 7]})", "inputs[1]: ");
#endif
  }
}

}  // namespace attune::bundle_tasks_cli_test
