// attune report: the HTML page of a run, from the old-run fixtures of every task and from
// tiny fresh runs (translation samples, misclassified images, the report `attune train`
// writes), its escaping, and its one-line errors. tests/cli/report_browser_test.sh opens
// a report in headless Chromium.
#include "tests/catch.h"

#include "tests/common/cli.h"
#include "tests/common/synthetic.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;
using attune::testing::Result;
using attune::testing::run_attune;
using attune::testing::slurp;
using nlohmann::json;

namespace {

void check_report_error(const Result& r, const std::string& needle) {
  INFO("stderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(r.err.rfind("attune: error: ", 0) == 0);
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

// A copy of a fixture run (tests/fixtures/old_runs/NAME/run), so nothing writes into the tree.
std::string fixture_run(const std::string& name, const std::string& as) {
  const std::string dir = attune::testing::temp_dir("report-" + as);
  fs::copy(fs::path(ATTUNE_SOURCE_DIR) / "tests/fixtures/old_runs" / name / "run", dir + "/run", fs::copy_options::recursive);
  return dir + "/run";
}

std::string report_of(const std::string& run) {
  const Result r = run_attune({"report", run, "-o", run + "/r.html"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out == run + "/r.html\n");
  return slurp(run + "/r.html");
}

// data-points of each drawn series, by name.
std::map<std::string, int> drawn_series(const std::string& html) {
  std::map<std::string, int> out;
  const std::regex re("data-series=\"([^\"]*)\" data-points=\"([0-9]+)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = std::stoi((*it)[2]);
  }
  return out;
}

// How many metrics.jsonl lines of `split` have `key` as a number.
int lines_with(const std::string& run, const std::string& split, const std::string& key) {
  std::ifstream in(run + "/metrics.jsonl");
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    n += j["split"] == split && j.contains(key) && j[key].is_number();
  }
  return n;
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

void check_series(const std::string& run, const std::string& html, const std::vector<std::pair<std::string, std::string>>& keys) {
  const auto drawn = drawn_series(html);
  for (const auto& [split, key] : keys) {
    INFO(split << "/" << key);
    const int lines = lines_with(run, split, key);
    REQUIRE(lines > 0);
    REQUIRE(drawn.count(split + "/" + key));
    CHECK(drawn.at(split + "/" + key) == lines);
  }
}

}  // namespace

TEST_CASE("report of each task's old run: its curves, final metrics and task views", "[cli][report]") {
  SECTION("text classification: curves, confusion matrix, per-class table") {
    const std::string run = fixture_run("text", "text");
    const std::string html = report_of(run);
    check_series(run, html, {{"train", "loss"}, {"train", "lr"}, {"train", "items_per_s"}, {"train", "grad_norm"},
                             {"valid", "loss"}, {"valid", "accuracy"}, {"valid", "macro_f1"}});
    // No test set: the best validation's matrix, [[5,0,0],[0,2,0],[2,0,0]] over food, sport, tech.
    CHECK(html.find("id=\"confusion\" data-classes=\"3\"") != std::string::npos);
    const json m = json::parse(slurp(run + "/results.json"))["valid"]["confusion_matrix"];
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) {
        CHECK(html.find("data-cell=\"" + std::to_string(r) + "," + std::to_string(c) + "\" data-count=\"" +
                        std::to_string(m[r][c].get<int>()) + "\"") != std::string::npos);
      }
    }
    CHECK(html.find("title=\"true tech, predicted food: 2 (100% of true tech)\"") != std::string::npos);
    CHECK(html.find("<tr data-class=\"food\"><th>food</th><td class=\"bar\" style=\"--v:71.43%\" title=\"precision of food: "
                    "0.71428571\">0.7143</td>") != std::string::npos);
    CHECK(html.find("id=\"final-metrics\"") != std::string::npos);
    CHECK(html.find("id=\"run-status\">finished<") != std::string::npos);
    // Self-contained: nothing is fetched.
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find(" src=\"") == std::string::npos);
  }
  SECTION("translation: BLEU and chrF over steps; no samples in an old run, said so") {
    const std::string run = fixture_run("translation", "translation");
    const std::string html = report_of(run);
    check_series(run, html, {{"valid", "bleu"}, {"valid", "chrf"}, {"valid", "loss"}, {"valid", "perplexity"}});
    CHECK(html.find("id=\"chart-bleu-chrf\"") != std::string::npos);
    CHECK(html.find("No samples.jsonl") != std::string::npos);
  }
  SECTION("recommendation: HR@K and NDCG@K for every K, as a table and bars") {
    const std::string run = fixture_run("recommendation", "recommendation");
    const std::string html = report_of(run);
    check_series(run, html, {{"train", "loss"}, {"valid", "hr@10"}, {"valid", "ndcg@5"}, {"valid", "mrr"}});
    for (const char* k : {"5", "10", "20"}) CHECK(html.find(std::string("<tr data-k=\"") + k + "\">") != std::string::npos);
    // The test set's numbers: hr@5 1.0, ndcg@5 0.6478.
    CHECK(html.find("<tr data-k=\"5\"><th>5</th><td>1</td><td>0.6478</td>") != std::string::npos);
    CHECK(drawn_series(html).at("HR@K") == 3);
    CHECK(drawn_series(html).at("NDCG@K") == 3);
  }
  SECTION("MLM pretraining: loss, perplexity and masked accuracy") {
    const std::string run = fixture_run("mlm", "mlm");
    const std::string html = report_of(run);
    check_series(run, html, {{"train", "loss"}, {"valid", "loss"}, {"valid", "perplexity"}, {"valid", "masked_accuracy"}});
    CHECK(html.find("id=\"classification\"") == std::string::npos);
  }
  SECTION("image classification without a test set: the matrix of validation, and why there are no images") {
    const std::string run = fixture_run("image", "image");
    const std::string html = report_of(run);
    CHECK(html.find("id=\"confusion\" data-classes=\"4\"") != std::string::npos);
    CHECK(html.find("No misclassified/index.jsonl") != std::string::npos);
  }
}

TEST_CASE("report of a run still training, and of half-written files", "[cli][report]") {
  const std::string run = fixture_run("translation", "running");
  fs::remove(run + "/results.json");
  const int bleu_lines = lines_with(run, "valid", "bleu");
  // The line being written when the report was asked for.
  std::ofstream(run + "/metrics.jsonl", std::ios::app) << "{\"split\":\"valid\",\"step\":63,\"bl";
  const std::string html = report_of(run);
  CHECK(html.find("id=\"run-status\">not finished<") != std::string::npos);
  CHECK(html.find("metrics.jsonl:22: a partly written last line was skipped") != std::string::npos);
  CHECK(html.find("results.json does not exist") != std::string::npos);
  CHECK(drawn_series(html).at("valid/bleu") == bleu_lines);
  CHECK(html.find("No results.json: the run has not finished") != std::string::npos);
  // Without metrics.jsonl either (a run that has just started): the page says so.
  fs::remove(run + "/metrics.jsonl");
  const std::string empty = report_of(run);
  CHECK(empty.find("metrics.jsonl does not exist yet") != std::string::npos);
  CHECK(empty.find("No training lines in metrics.jsonl yet") != std::string::npos);
}

TEST_CASE("report escapes every text from the run: labels and config values cannot inject markup", "[cli][report]") {
  const std::string run = fixture_run("text", "escaping");
  const std::string evil = "<script>alert(1)</script>";
  // A label named like a script tag, in results.json and metrics.jsonl, and a config value closing <pre>.
  const auto rename = [&](std::string text) {
    for (size_t p = text.find("\"tech\""); p != std::string::npos; p = text.find("\"tech\"", p + 1)) {
      text.replace(p, 6, json(evil).dump());
    }
    return text;
  };
  const std::string results = rename(slurp(run + "/results.json")), metrics = rename(slurp(run + "/metrics.jsonl"));
  std::ofstream(run + "/results.json") << results;
  std::ofstream(run + "/metrics.jsonl") << metrics;
  json config = json::parse(slurp(run + "/config.json"));
  config["data"]["text_column"] = "</pre><img src=x onerror=alert(2)>\"'&";
  std::ofstream(run + "/config.json") << config.dump(2);
  const std::string html = report_of(run);
  CHECK(html.find(evil) == std::string::npos);
  CHECK(html.find("<img src=x") == std::string::npos);
  CHECK(occurrences(html, "<script>") == 2);  // the page's own two
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("&lt;/pre&gt;&lt;img src=x onerror=alert(2)&gt;\\&quot;&#39;&amp;") != std::string::npos);
  CHECK(html.find("data-class=\"&lt;script&gt;alert(1)&lt;/script&gt;\"") != std::string::npos);
}

TEST_CASE("attune --help lists report, and attune report --help its options", "[cli][report]") {
  const Result top = run_attune({"--help"});
  CHECK(top.out.find("\n  report    one self-contained HTML page of a run") != std::string::npos);
  const Result help = run_attune({"report", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("RUN_DIR") != std::string::npos);
  CHECK(help.out.find("-o, --output") != std::string::npos);
  CHECK(help.out.find("default: RUN_DIR/report.html") != std::string::npos);
  const Result keys = run_attune({"config", "--keys"});
  CHECK(keys.out.find("train.report: write report.html") != std::string::npos);
}

TEST_CASE("report refuses what it cannot read with one line and exit status 2", "[cli][report][errors]") {
  check_report_error(run_attune({"report"}), "attune report: a run directory is required");
  check_report_error(run_attune({"report", "/nonexistent/run"}), "/nonexistent/run: run directory does not exist");
  check_report_error(run_attune({"report", "a", "b"}), "unexpected argument 'b'");
  const std::string run = fixture_run("text", "errors");
  const std::string metrics = slurp(run + "/metrics.jsonl");
  const auto with_metrics = [&](const std::string& text) { std::ofstream(run + "/metrics.jsonl") << text; };

  with_metrics("{\"split\":\"train\",\"step\":1,\"loss\":2}\n{\"split\": tr\n" + metrics);
  check_report_error(run_attune({"report", run}), run + "/metrics.jsonl:2: invalid JSON");
  with_metrics("[1, 2]\n");
  check_report_error(run_attune({"report", run}), run + "/metrics.jsonl:1: expected a JSON object, got array");
  with_metrics("\n{\"split\":\"train\",\"loss\":2}\n");
  check_report_error(run_attune({"report", run}), run + "/metrics.jsonl:2: expected a number \"step\"");
  with_metrics("{\"step\":3}\n");
  check_report_error(run_attune({"report", run}), run + "/metrics.jsonl:1: expected a string \"split\"");
  with_metrics(metrics);

  const std::string results = slurp(run + "/results.json");
  std::ofstream(run + "/results.json") << "{\n  \"steps\": 18,\n  oops\n}\n";
  check_report_error(run_attune({"report", run}), run + "/results.json: invalid JSON at line 3, column 3");
  std::ofstream(run + "/results.json") << "[]";
  check_report_error(run_attune({"report", run}), run + "/results.json: expected a JSON object");
  std::ofstream(run + "/results.json") << results;

  std::ofstream(run + "/samples.jsonl") << "{\"source\":\"a\",\"reference\":\"b\",\"translation\":\"c\"}\n{\"source\":1}\n";
  check_report_error(run_attune({"report", run}), run + "/samples.jsonl:2: expected a string \"source\"");
  fs::remove(run + "/samples.jsonl");
  fs::create_directories(run + "/misclassified");
  std::ofstream(run + "/misclassified/index.jsonl") << "{\"image\":\"../x.png\",\"label\":\"a\",\"predicted\":\"b\",\"probability\":0.5}\n";
  check_report_error(run_attune({"report", run}), run + "/misclassified/index.jsonl:1: image must be a file name");
  std::ofstream(run + "/misclassified/index.jsonl") << "{\"image\":\"7.png\",\"label\":\"a\",\"predicted\":\"b\",\"probability\":0.5}\n";
  CHECK(report_of(run).find("misclassified/index.jsonl:1: image " + run + "/misclassified/7.png is missing") != std::string::npos);

  check_report_error(run_attune({"report", run, "-o", run + "/no/such/dir/r.html"}), run + "/no/such/dir/r.html");
}

TEST_CASE("attune train ends with a report (samples, misclassified images) and prints its path; train.report=false "
          "turns it off", "[cli][report]") {
  SECTION("translation with a test set: samples.jsonl, shown in the report") {
    const std::string dir = attune::testing::temp_dir("report-train-mt");
    attune::testing::write_number_pairs(dir + "/train.tsv", 200, 1);
    attune::testing::write_number_pairs(dir + "/test.tsv", 12, 2);
    const Result r = run_attune({"train", "--task", "translation", "--set", "run_dir=" + dir + "/run", "--set", "device=cpu",
                                 "--set", "data.train=" + dir + "/train.tsv", "--set", "data.valid=" + dir + "/test.tsv",
                                 "--set", "data.test=" + dir + "/test.tsv", "--set", "tokenizer.vocab_size=100", "--set",
                                 "model.preset=transformer-tiny", "--set", "train.max_steps=3", "--set",
                                 "train.max_tokens=400", "--set", "train.eval_max_sentences=4"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.find("report: " + dir + "/run/report.html\n") != std::string::npos);
    CHECK(json::parse(r.out)["report"] == dir + "/run/report.html");
    std::ifstream samples(dir + "/run/samples.jsonl");
    int lines = 0;
    for (std::string line; std::getline(samples, line); ++lines) CHECK(json::parse(line).contains("translation"));
    CHECK(lines == 8);
    const std::string html = slurp(dir + "/run/report.html");
    CHECK(occurrences(html, "<tr class=\"sample\">") == 8);
    CHECK(drawn_series(html).at("valid/bleu") == lines_with(dir + "/run", "valid", "bleu"));
  }
  SECTION("image classification with a test set: misclassified images inlined as PNG data URIs") {
    const std::string dir = attune::testing::temp_dir("report-train-image");
    const std::string data = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/old_runs/image/";
    const std::vector<std::string> args = {
        "train", "--task", "image-classification", "--set", "device=cpu", "--set",
        "data.train_images=" + data + "test-images", "--set", "data.train_labels=" + data + "test-labels", "--set",
        "data.test_images=" + data + "test-images", "--set", "data.test_labels=" + data + "test-labels", "--set",
        "data.valid_size=4", "--set", "model.patch_size=4", "--set", "model.hidden_size=8", "--set", "model.num_layers=1",
        "--set", "model.num_heads=2", "--set", "model.mlp_size=16", "--set", "train.max_steps=1"};
    std::vector<std::string> first = args;
    first.insert(first.end(), {"--set", "run_dir=" + dir + "/run"});
    const Result r = run_attune(first);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json test = json::parse(slurp(dir + "/run/results.json"))["test"];
    const int wrong = test["examples"].get<int>() - static_cast<int>(std::lround(test["accuracy"].get<double>() * 16));
    REQUIRE(wrong > 0);
    std::ifstream index(dir + "/run/misclassified/index.jsonl");
    int lines = 0;
    for (std::string line; std::getline(index, line); ++lines) {
      const json j = json::parse(line);
      CHECK(j["label"] != j["predicted"]);
      CHECK(fs::file_size(dir + "/run/misclassified/" + j["image"].get<std::string>()) > 0);
    }
    CHECK(lines == wrong);
    const std::string html = slurp(dir + "/run/report.html");
    CHECK(occurrences(html, "<img alt=\"misclassified image\" src=\"data:image/png;base64,iVBORw0KGgo") == static_cast<size_t>(wrong));

    std::vector<std::string> off = args;
    off.insert(off.end(), {"--set", "run_dir=" + dir + "/off", "--set", "train.report=false"});
    const Result quiet = run_attune(off);
    REQUIRE(quiet.status == 0);
    CHECK(quiet.err.find("report:") == std::string::npos);
    CHECK_FALSE(fs::exists(dir + "/off/report.html"));
  }
}
