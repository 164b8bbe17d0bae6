// `attune train --task translation --set init=hf:DIR` from an OPUS-MT style folder (one
// made by attune, and the transformers-made fixtures of tests/fixtures/marian when
// present): a few steps, translate, a bundle that predicts as the run does, `attune
// convert --to-hf` back to a folder that reads back to the run's weights and tokenizer
// files, and `convert --from-hf`; `attune models` lists the import; and
// the one-line refusals (exit 2) of broken folders and of exporting a joint-vocabulary run.
#include "tests/catch.h"

#include "core/files.h"
#include "models/seq2seq/hf_marian.h"
#include "tasks/translation/task.h"
#include "tests/common/cli.h"
#include "tests/common/cli_checks.h"
#include "tests/common/marian_folder.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using attune::testing::check_user_error;
using attune::testing::Result;
using attune::testing::run_attune;
using nlohmann::json;

namespace {

// A few steps of fine-tuning from `init` on digit-word pairs, on CPU.
Result train_marian(const std::string& dir, const std::string& init, const std::vector<std::string>& more = {}) {
  std::vector<std::string> args = {"train", "--task", "translation", "--set", "init=" + init, "--set",
                                   "run_dir=" + dir + "/run", "--set", "device=cpu", "--set",
                                   "data.train=" + dir + "/train.tsv", "--set", "data.valid=" + dir + "/test.tsv",
                                   "--set", "data.max_source_tokens=40", "--set", "data.max_target_tokens=40",
                                   "--set", "train.max_steps=3", "--set", "train.max_tokens=300", "--set",
                                   "train.eval_max_sentences=4", "--set", "decode.max_length_extra=5"};
  args.insert(args.end(), more.begin(), more.end());
  return run_attune(args);
}

// Fine-tunes, translates and exports; the exported folder holds the run's tensors and the
// folder's tokenizer files.
void fine_tune_translate_export(const std::string& folder, const std::string& name) {
  const std::string dir = attune::testing::temp_dir(name);
  attune::testing::write_number_pairs(dir + "/train.tsv", 60, 1);
  attune::testing::write_number_pairs(dir + "/test.tsv", 6, 2);
  const Result train = train_marian(dir, "hf:" + folder);
  INFO(train.err);
  REQUIRE(train.status == 0);
  CHECK(train.err.find("init: MarianMTModel from " + folder) != std::string::npos);
  CHECK(attune::io::read_json(dir + "/run/tokenizer/tokenizer.json")["kind"] == "marian");

  const Result translated = run_attune({"translate", "--run", dir + "/run", "--beam", "2"}, "one two\n\nthree\n");
  INFO(translated.err);
  REQUIRE(translated.status == 0);
  CHECK(std::count(translated.out.begin(), translated.out.end(), '\n') == 3);

  // The bundle carries the Marian tokenizer and decodes as the run does.
  const Result bundled = run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle"});
  INFO(bundled.err);
  REQUIRE(bundled.status == 0);
  const std::string sentences = "one two three\n\nfour five\n";
  const Result from_run = run_attune({"predict", "--run", dir + "/run"}, sentences);
  const Result from_bundle = run_attune({"predict", "--bundle", dir + "/bundle"}, sentences);
  INFO(from_bundle.err);
  REQUIRE(from_bundle.status == 0);
  CHECK(from_bundle.out == from_run.out);

  const Result exported = run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/hf"});
  INFO(exported.err);
  REQUIRE(exported.status == 0);
  CHECK(json::parse(exported.out)["architecture"] == "MarianMTModel");
  for (const char* f : {"source.spm", "target.spm", "vocab.json"}) {
    CHECK(attune::io::read_file(dir + "/hf/" + f) == attune::io::read_file(folder + "/" + f));
  }
  const attune::models::MarianCheckpoint back = attune::models::read_hf_marian(dir + "/hf");
  attune::translation::LoadedRun run = attune::translation::load_run(dir + "/run", {}, "cpu");
  for (const auto& [name, t] : attune::formats::module_tensors(*run.model)) {
    INFO(name);
    CHECK(torch::equal(back.tensors.tensors.at(name), t));
  }
  // The run's weights moved off the folder's: the export is the fine-tuned model.
  const attune::models::MarianCheckpoint start = attune::models::read_hf_marian(folder);
  CHECK(!torch::equal(start.tensors.tensors.at("model.encoder.layers.0.fc1.weight"),
                      back.tensors.tensors.at("model.encoder.layers.0.fc1.weight")));
  // A second run from the exported folder translates as the run does (same weights, same tokenizer).
  const Result again = train_marian(dir, "hf:" + dir + "/hf", {"--set", "run_dir=" + dir + "/again", "--set", "train.lr=0"});
  INFO(again.err);
  REQUIRE(again.status == 0);
  const Result from_export = run_attune({"translate", "--run", dir + "/again", "--beam", "2"}, "one two\n\nthree\n");
  CHECK(from_export.out == translated.out);

  // convert --from-hf makes the folder a run as it is; back out, it is the folder's model.
  const Result imported = run_attune({"convert", "--from-hf", folder, "--out", dir + "/imported"});
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  CHECK(json::parse(imported.out)["task"] == "translation");
  const Result from_import = run_attune({"translate", "--run", dir + "/imported"}, "one two\n\nthree\n");
  INFO(from_import.err);
  REQUIRE(from_import.status == 0);
  CHECK(std::count(from_import.out.begin(), from_import.out.end(), '\n') == 3);
  REQUIRE(run_attune({"convert", "--run", dir + "/imported", "--to-hf", dir + "/hf2"}).status == 0);
  const attune::models::MarianCheckpoint round = attune::models::read_hf_marian(dir + "/hf2");
  for (const std::string& name : start.tensors.names) {
    INFO(name);
    CHECK(torch::equal(round.tensors.tensors.at(name), start.tensors.tensors.at(name)));
  }
}

}  // namespace

TEST_CASE("train fine-tunes an attune-made Marian folder, translates and exports it to transformers",
          "[cli][translation][marian]") {
  const std::string folder = attune::testing::write_marian_folder("cli-marian-folder", attune::testing::tiny_marian_options());
  fine_tune_translate_export(folder, "cli-marian");
}

TEST_CASE("train fine-tunes the transformers-made Marian fixtures", "[cli][translation][marian][fixtures]") {
  for (const std::string& dir : attune::testing::marian_fixture_dirs()) {
    fine_tune_translate_export(dir, "cli-marian-" + fs::path(dir).filename().string());
  }
}

TEST_CASE("Marian init and export refuse broken input with one line", "[cli][translation][marian]") {
  const std::string folder = attune::testing::write_marian_folder("cli-marian-bad", attune::testing::tiny_marian_options());
  const std::string dir = attune::testing::temp_dir("cli-marian-errors");
  attune::testing::write_number_pairs(dir + "/train.tsv", 30, 1);
  attune::testing::write_number_pairs(dir + "/test.tsv", 4, 2);
  check_user_error(train_marian(dir, "hf:" + dir + "/missing"), dir + "/missing: not a directory");
  check_user_error(train_marian(dir, "marian:" + folder), "init: expected hf:DIR (a transformers MarianMTModel folder)");
  check_user_error(train_marian(dir, "hf:" + folder, {"--set", "data.max_source_tokens=100"}),
                   "data.max_source_tokens: source/target limits (100, 40) plus EOS/BOS exceed model.max_positions (64)");
  json config = attune::io::read_json(folder + "/config.json");
  config["activation_function"] = "mish";
  std::ofstream(folder + "/config.json") << config.dump();
  check_user_error(train_marian(dir, "hf:" + folder), folder + "/config.json.activation_function: unknown activation 'mish'");
  config["activation_function"] = "swish";
  std::ofstream(folder + "/config.json") << config.dump();
  fs::remove(folder + "/source.spm");
  check_user_error(train_marian(dir, "hf:" + folder), folder + ": no source.spm (not a MarianTokenizer folder)");

  // A run with attune's own joint vocabulary has no files for MarianTokenizer.
  const Result joint = run_attune({"train", "--task", "translation", "--set", "run_dir=" + dir + "/joint", "--set",
                                   "device=cpu", "--set", "data.train=" + dir + "/train.tsv", "--set",
                                   "data.valid=" + dir + "/test.tsv", "--set", "tokenizer.vocab_size=100", "--set",
                                   "model.preset=transformer-tiny", "--set", "train.max_steps=1", "--set",
                                   "train.eval_max_sentences=2"});
  INFO(joint.err);
  REQUIRE(joint.status == 0);
  check_user_error(run_attune({"convert", "--run", dir + "/joint", "--to-hf", dir + "/hf"}),
                   dir + "/joint: has attune's joint SentencePiece tokenizer");
}

TEST_CASE("attune models lists the Marian import", "[cli][translation][marian]") {
  const Result text = run_attune({"models", "--dir", attune::testing::temp_dir("cli-marian-models")});
  REQUIRE(text.status == 0);
  CHECK(text.out.find("pretrained translators (attune train --task translation --set init=") != std::string::npos);
  CHECK(text.out.find("marian  MarianMTModel MarianTokenizer") != std::string::npos);
  const Result listed = run_attune({"models", "--json", "--dir", attune::testing::temp_dir("cli-marian-models")});
  REQUIRE(listed.status == 0);
  const json j = json::parse(listed.out);
  REQUIRE(j["translation_imports"].size() == 1);
  CHECK(j["translation_imports"][0]["model_type"] == "marian");
}
