// Run directories written by an older attune keep loading: one tiny run of each task,
// written by main ae881cf (tools/ci/make_run_fixtures.sh), evaluated and predicted with
// today's binary, must give the outputs that binary gave.
#include "tests/catch.h"

#include "tests/common/cli.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using attune::testing::run_attune;
using attune::testing::slurp;
using nlohmann::json;

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

// Numbers within 1e-4 (relative, or absolute near zero): the fixtures were written by
// another LibTorch build, whose CPU kernels may round differently in the last bits.
// Wall-clock figures differ from run to run.
bool is_timing(const std::string& key) {
  return key == "seconds" || key.find("per_s") != std::string::npos || key.find("_ms") != std::string::npos;
}

struct Paths {
  std::string written_at, root;  // where the fixtures were written, and where they are now
};

void check_same(const json& expected, const json& actual, const std::string& where, const Paths& paths) {
  INFO(where);
  if (expected.is_number() && actual.is_number()) {
    const double e = expected.get<double>(), a = actual.get<double>();
    CHECK(std::abs(e - a) <= 1e-4 * std::max(1.0, std::abs(e)));
  } else if (expected.is_string() && actual.is_string()) {
    CHECK(replace_all(expected.get<std::string>(), paths.written_at, paths.root) == actual.get<std::string>());
  } else if (expected.is_object() && actual.is_object()) {
    CHECK(expected.size() == actual.size());
    for (const auto& item : expected.items()) {
      if (is_timing(item.key())) continue;
      if (actual.contains(item.key())) {
        check_same(item.value(), actual.at(item.key()), where + "." + item.key(), paths);
      } else {
        FAIL_CHECK("missing key " << where << "." << item.key());
      }
    }
  } else if (expected.is_array() && actual.is_array()) {
    REQUIRE(expected.size() == actual.size());
    for (size_t i = 0; i < expected.size(); ++i) check_same(expected[i], actual[i], where + "[" + std::to_string(i) + "]", paths);
  } else {
    CHECK(expected == actual);
  }
}

// Each output line, as JSON where it is JSON (predictions), else as text (translations).
void check_same_lines(const std::string& expected, const std::string& actual, const Paths& paths) {
  std::istringstream e(expected), a(actual);
  std::string el, al;
  int line = 0;
  while (std::getline(e, el)) {
    ++line;
    REQUIRE(std::getline(a, al));
    const json ej = json::parse(el, nullptr, false);
    if (ej.is_discarded()) {
      CHECK(el == al);
    } else {
      check_same(ej, json::parse(al), "line " + std::to_string(line), paths);
    }
  }
  CHECK_FALSE(std::getline(a, al));
}

std::vector<std::string> arguments(const json& list, const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& a : list) out.push_back(replace_all(a.get<std::string>(), "{dir}", dir));
  return out;
}

}  // namespace

TEST_CASE("run directories written by main ae881cf still evaluate and predict as they did", "[cli][compat]") {
  const fs::path fixtures = fs::path(ATTUNE_SOURCE_DIR) / "tests/fixtures/old_runs";
  // A copy, so that nothing writes into the source tree.
  const fs::path root = fs::temp_directory_path() / ("attune-test-old-runs-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::copy(fixtures, root, fs::copy_options::recursive);
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string dir = entry.path().string();
    const std::string name = entry.path().filename().string();
    DYNAMIC_SECTION(name) {
      ++seen;
      const json fixture = json::parse(slurp(dir + "/fixture.json"));
      const Paths paths{fixture.at("written_at").get<std::string>(), root.string()};
      std::vector<std::string> eval = {"eval", "--run", dir + "/run"};
      for (const auto& a : arguments(fixture.at("eval"), dir)) eval.push_back(a);
      const auto evaluated = run_attune(eval);
      INFO(evaluated.err);
      REQUIRE(evaluated.status == 0);
      check_same(json::parse(slurp(dir + "/expected_eval.json")), json::parse(evaluated.out), "eval", paths);

      std::vector<std::string> predict = arguments(fixture.at("predict"), dir);
      predict.insert(predict.begin() + 1, {"--run", dir + "/run"});
      const std::string stdin_file = fixture.at("stdin").get<std::string>();
      const auto predicted = run_attune(predict, stdin_file.empty() ? "" : slurp(dir + "/" + stdin_file));
      INFO(predicted.err);
      REQUIRE(predicted.status == 0);
      check_same_lines(slurp(dir + "/expected_predict.txt"), predicted.out, paths);
    }
  }
  CHECK(seen >= 1);
  fs::remove_all(root);
}
