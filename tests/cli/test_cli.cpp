// Runs the real `attune` binary: exit codes, one-line errors on stderr, and a tiny
// train / eval / predict round trip.
#include "tests/catch.h"

#include "core/files.h"
#include "core/trace_compat.h"
#include "data/formats/base64.h"
#include "data/formats/png.h"
#include "data/readers/idx.h"
#include "tests/common/cli.h"
#include "tests/common/cli_checks.h"
#include "tests/common/processes.h"
#include "tests/common/hf_arch_tokenizer.h"
#include "tests/common/hf_fixture.h"
#include "tests/common/synthetic.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

using attune::testing::Result;
using attune::testing::run_attune;
using attune::testing::quote;
using attune::testing::slurp;
using attune::testing::check_user_error;
using attune::testing::json_lines;

namespace {

std::vector<std::string> tiny(const std::string& dir, const std::string& run) {
  return {"--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu", "--set", "data.train=" + dir + "/train.csv",
          "--set", "data.max_length=24", "--set", "tokenizer.vocab_size=120", "--set", "model.hidden_size=32",
          "--set", "model.num_layers=1", "--set", "model.num_heads=2", "--set", "model.intermediate_size=64",
          "--set", "train.epochs=6", "--set", "train.lr=5e-3", "--set", "train.batch_size=16"};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("attune --help and <cmd> --help list commands and options with defaults", "[cli]") {
  const Result top = run_attune({"--help"});
  CHECK(top.status == 0);
  for (const char* cmd : {"train", "eval", "predict", "config", "tokenize"}) CHECK(top.out.find(cmd) != std::string::npos);
  const Result train = run_attune({"train", "--help"});
  CHECK(train.status == 0);
  CHECK(train.out.find("--resume") != std::string::npos);
  CHECK(train.out.find("(default: text-classification)") != std::string::npos);
  const Result predict = run_attune({"predict", "--help"});
  CHECK(predict.out.find("--batch-size") != std::string::npos);
  CHECK(predict.out.find("(default: 64)") != std::string::npos);
  const Result config = run_attune({"config"});
  CHECK(json::parse(config.out)["train"]["lr"].is_number());
  check_user_error(run_attune({"bogus"}), "unknown command 'bogus'");
}

TEST_CASE("attune config --keys explains every key of every task's defaults", "[cli][config]") {
  for (const char* task : {"text-classification", "image-classification", "translation", "recommendation", "mlm"}) {
    INFO(task);
    const json defaults = json::parse(run_attune({"config", "--task", task}).out);
    const Result keys = run_attune({"config", "--task", task, "--keys"});
    REQUIRE(keys.status == 0);
    std::set<std::string> explained;
    std::istringstream lines(keys.out);
    for (std::string line; std::getline(lines, line);) {
      const size_t colon = line.find(": ");
      REQUIRE(colon != std::string::npos);
      CHECK(line.size() > colon + 4);  // a help text, not an empty one
      explained.insert(line.substr(0, colon));
    }
    for (const auto& item : defaults.items()) {
      if (item.key() == "task" || item.key() == "peft") continue;  // peft: by method, docs/peft.md
      if (!item.value().is_object()) {
        CHECK(explained.count(item.key()) == 1);
        continue;
      }
      for (const auto& inner : item.value().items()) {
        INFO(item.key() + "." + inner.key());
        CHECK(explained.count(item.key() + "." + inner.key()) == 1);
      }
    }
  }
}

TEST_CASE("train, eval and predict a tiny run through the CLI", "[cli]") {
  const std::string dir = attune::testing::temp_dir("cli-run");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  attune::testing::write_topics_csv(dir + "/test.csv", 60, 12);
  const Result train = run_attune(concat({"train"}, tiny(dir, "run")));
  INFO(train.err);
  REQUIRE(train.status == 0);
  // train.cuda_graphs is on by default: a CPU run says nothing about it.
  CHECK(train.err.find("cuda_graphs") == std::string::npos);
  const json summary = json::parse(train.out);
  CHECK(summary["valid"]["accuracy"].get<double>() > 0.8);

  const Result eval = run_attune({"eval", "--run", dir + "/run", "--data", dir + "/test.csv"});
  REQUIRE(eval.status == 0);
  const json metrics = json::parse(eval.out);
  CHECK(metrics["accuracy"].get<double>() > 0.8);
  CHECK(metrics["confusion_matrix"].size() == 3);

  const Result predict = run_attune({"predict", "--run", dir + "/run"}, "cheese bread soup\nteam goal match score\n");
  REQUIRE(predict.status == 0);
  std::istringstream lines(predict.out);
  std::string a, b;
  std::getline(lines, a);
  std::getline(lines, b);
  CHECK(json::parse(a)["label"] == "food");
  CHECK(json::parse(b)["label"] == "sport");

  // The run's tokenizer, from the command line: one JSON list of ids per input line.
  const Result ids = run_attune({"tokenize", "--tokenizer", dir + "/run", "--special"}, "cheese bread\n\nteam\n");
  REQUIRE(ids.status == 0);
  std::istringstream id_lines(ids.out);
  std::vector<json> parsed;
  for (std::string l; std::getline(id_lines, l);) parsed.push_back(json::parse(l));
  REQUIRE(parsed.size() == 3);
  REQUIRE(parsed[1].size() == 2);  // an empty line: [CLS] [SEP]
  CHECK(parsed[0].size() >= 4);    // [CLS] cheese bread [SEP], words maybe split
  CHECK(parsed[0].front() == parsed[1][0]);
  CHECK(parsed[0].back() == parsed[1][1]);
  check_user_error(run_attune({"tokenize", "--tokenizer", dir}), "no tokenizer.json");

  // Running the same command again must not silently replace the run.
  check_user_error(run_attune(concat({"train"}, tiny(dir, "run"))), "already holds a run");
}

TEST_CASE("bad input gives one clear line and exit status 2", "[cli][errors]") {
  const std::string dir = attune::testing::temp_dir("cli-errors");
  attune::testing::write_topics_csv(dir + "/train.csv", 120, 5);

  SECTION("missing data file") {
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "data.train=" + dir + "/nope.csv"}))),
                     dir + "/nope.csv: cannot open file");
  }
  SECTION("a prefix that pushes the text past the position embeddings") {
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "model.max_length=32",
                                                                         "--set", "peft.method=prefix_tuning",
                                                                         "--set", "peft.num_virtual_tokens=10"}))),
                     "data.max_length: 24 plus peft.num_virtual_tokens 10 exceeds model.max_length (32 position "
                     "embeddings; the prefix takes the first positions, as in transformers)");
  }
  SECTION("a task set to null names the key") {
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "task=null"}))),
                     "task: expected a task name, got null");
  }
  SECTION("unterminated CSV quote names the line") {
    std::ofstream(dir + "/bad.csv") << "text,label\nfine,a\n\"never closed,b\nmore,a\n";
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "data.train=" + dir + "/bad.csv"}))),
                     dir + "/bad.csv:3: unterminated quoted field");
  }
  SECTION("missing column names the key") {
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "data.text_column=body"}))),
                     "data.text_column: column 'body'");
  }
  SECTION("empty data set") {
    std::ofstream(dir + "/empty.csv") << "text,label\n";
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "data.train=" + dir + "/empty.csv"}))),
                     dir + "/empty.csv");
  }
  SECTION("invalid JSON config names file and line") {
    std::ofstream(dir + "/run.json") << "{\n  \"train\": {\"epochs\": 3,}\n}\n";
    check_user_error(run_attune({"train", "--config", dir + "/run.json"}), dir + "/run.json: invalid JSON at line 2");
  }
  SECTION("unknown config key suggests the nearest") {
    std::ofstream(dir + "/run.json") << R"({"train": {"epoch": 3}})";
    check_user_error(run_attune({"train", "--config", dir + "/run.json"}), "did you mean 'train.epochs'?");
  }
  SECTION("value out of range names the key") {
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "train.lr=-1"}))), "train.lr: value -1");
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "model.dropout=1.5"}))), "model.dropout");
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "device=tpu"}))), "device: unknown device 'tpu'");
  }
  SECTION("a directory that is not a run") {
    check_user_error(run_attune({"eval", "--run", dir, "--data", dir + "/train.csv"}), "not an attune run directory");
    check_user_error(run_attune({"predict", "--run", dir + "/missing"}), "run directory does not exist");
    check_user_error(run_attune({"train", "--resume", dir}), "not an attune run directory");
  }
  SECTION("unknown flag") {
    check_user_error(run_attune({"eval", "--frobnicate"}), "frobnicate");
  }
}

TEST_CASE("eval refuses labels that training never saw", "[cli][errors]") {
  const std::string dir = attune::testing::temp_dir("cli-unseen");
  attune::testing::write_topics_csv(dir + "/train.csv", 120, 7);
  REQUIRE(run_attune(concat({"train"}, concat(tiny(dir, "run"), {"--set", "train.epochs=1"}))).status == 0);
  std::ofstream(dir + "/eval.csv") << "text,label\nbread,food\n\"two\nlines\",weather\n";
  check_user_error(run_attune({"eval", "--run", dir + "/run", "--data", dir + "/eval.csv"}),
                   dir + "/eval.csv:3: label 'weather' was not seen in training");
}

TEST_CASE("convert imports a Hugging Face classifier for eval/predict and exports it back", "[cli][hf]") {
  using attune::models::HfBertArchitecture;
  const std::string dir = attune::testing::temp_dir("cli-convert");
  attune::testing::write_topics_csv(dir + "/train.csv", 120, 3);
  attune::testing::write_hf_fixture(dir + "/hf", HfBertArchitecture::kSequenceClassification);
  const Result imported = run_attune({"convert", "--from-hf", dir + "/hf", "--out", dir + "/run"});
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  CHECK(json::parse(imported.out)["architecture"] == "BertForSequenceClassification");
  const Result eval = run_attune({"eval", "--run", dir + "/run", "--data", dir + "/train.csv"});
  REQUIRE(eval.status == 0);
  CHECK(json::parse(eval.out)["confusion_matrix"].size() == 3);
  const Result predict = run_attune({"predict", "--run", dir + "/run"}, "cheese bread\n");
  REQUIRE(predict.status == 0);
  CHECK(json::parse(predict.out)["probabilities"].size() == 3);
  const Result exported = run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/back"});
  REQUIRE(exported.status == 0);
  CHECK(attune::io::read_file(dir + "/back/model.safetensors") == attune::io::read_file(dir + "/hf/model.safetensors"));

  // Fine-tuning straight from a Hugging Face masked LM (no pooler in it).
  attune::testing::write_hf_fixture(dir + "/mlm", HfBertArchitecture::kMaskedLM);
  const Result train = run_attune(concat({"train"}, concat(tiny(dir, "tuned"), {"--set", "init=hf:" + dir + "/mlm",
                                                                                "--set", "train.epochs=1"})));
  INFO(train.err);
  REQUIRE(train.status == 0);
  CHECK(train.err.find("no pooler there") != std::string::npos);
  CHECK(attune::io::read_file(dir + "/tuned/tokenizer/vocab.txt") == attune::io::read_file(dir + "/mlm/vocab.txt"));
}

TEST_CASE("a transformers RoBERTa classifier with its tokenizer.json converts, predicts and exports back",
          "[cli][hf][hfarch]") {
  namespace fs = std::filesystem;
  const std::string dir = attune::testing::temp_dir("cli-convert-roberta");
  fs::copy(std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/hf_arch/roberta-seqcls", dir + "/hf");
  const std::string tokenizer = attune::testing::write_fixture_tokenizer(dir + "/hf");  // tokenizer.json
  const Result imported = run_attune({"convert", "--from-hf", dir + "/hf", "--out", dir + "/run"});
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  CHECK(json::parse(imported.out)["architecture"] == "RobertaForSequenceClassification");
  CHECK(attune::io::read_file(dir + "/run/tokenizer/tokenizer.json") == tokenizer);
  const Result predict = run_attune({"predict", "--run", dir + "/run"}, "w5 w17 w42\n");
  INFO(predict.err);
  REQUIRE(predict.status == 0);
  const json p = json::parse(predict.out);
  CHECK(p["probabilities"].size() == 3);
  CHECK(p["probabilities"].contains(p["label"].get<std::string>()));
  const Result exported = run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/back"});
  INFO(exported.err);
  REQUIRE(exported.status == 0);
  const json config = attune::io::read_json(dir + "/back/config.json");
  CHECK(config["model_type"] == "roberta");
  CHECK(config["architectures"][0] == "RobertaForSequenceClassification");
  CHECK(config["id2label"]["2"] == "positive");
  CHECK(attune::io::read_file(dir + "/back/tokenizer.json") == tokenizer);
}

TEST_CASE("convert refuses bad checkpoints and impossible exports with one line", "[cli][hf][errors]") {
  using attune::models::HfBertArchitecture;
  const std::string dir = attune::testing::temp_dir("cli-convert-errors");
  const auto tensors = attune::testing::write_hf_fixture(dir + "/hf", HfBertArchitecture::kBertModel);
  check_user_error(run_attune({"convert"}), "give either --from-hf DIR --out RUN_DIR or --run RUN_DIR --to-hf OUT_DIR");
  check_user_error(run_attune({"convert", "--from-hf", dir + "/hf"}), "--from-hf needs --out RUN_DIR");
  check_user_error(run_attune({"convert", "--from-hf", dir + "/nope", "--out", dir + "/o"}), dir + "/nope: not a directory");

  SECTION("missing key") {
    auto t = tensors;
    t.pop_back();
    attune::formats::save_safetensors(dir + "/hf/model.safetensors", t);
    check_user_error(run_attune({"convert", "--from-hf", dir + "/hf", "--out", dir + "/o"}),
                     dir + "/hf/model.safetensors: tensor 'pooler.dense.bias' missing (BertModel needs it)");
  }
  SECTION("shape mismatch") {
    auto t = tensors;
    t.front().second = torch::zeros({40, 16});
    attune::formats::save_safetensors(dir + "/hf/model.safetensors", t);
    check_user_error(run_attune({"convert", "--from-hf", dir + "/hf", "--out", dir + "/o"}),
                     "tensor 'embeddings.word_embeddings.weight' has shape [40, 16], config.json implies [41, 16]");
  }
  SECTION("bad config value") {
    json config = attune::io::read_json(dir + "/hf/config.json");
    config["hidden_act"] = "mish";
    attune::io::write_json_atomic(dir + "/hf/config.json", config);
    check_user_error(run_attune({"convert", "--from-hf", dir + "/hf", "--out", dir + "/o"}),
                     dir + "/hf: config.json.hidden_act: unknown activation 'mish'");
  }
  SECTION("pytorch_model.bin only") {
    fs::rename(dir + "/hf/model.safetensors", dir + "/hf/pytorch_model.bin");
    check_user_error(run_attune({"convert", "--from-hf", dir + "/hf", "--out", dir + "/o"}),
                     "has pytorch_model.bin but no model.safetensors; convert it to safetensors first");
    attune::testing::write_topics_csv(dir + "/train.csv", 60, 3);
    check_user_error(run_attune(concat({"train"}, concat(tiny(dir, "r"), {"--set", "init=hf:" + dir + "/hf"}))),
                     "has pytorch_model.bin but no model.safetensors");
  }
  SECTION("pre-LN export") {
    attune::models::BertModel model(attune::testing::hf_fixture_options().pre_layer_norm(true));
    REQUIRE(run_attune({"convert", "--from-hf", dir + "/hf", "--out", dir + "/enc"}).status == 0);
    attune::io::write_json_atomic(dir + "/enc/config.json", {{"model", model->config()}});
    attune::formats::save_safetensors(dir + "/enc/model.safetensors", attune::formats::module_tensors(*model));
    check_user_error(run_attune({"convert", "--run", dir + "/enc", "--to-hf", dir + "/out"}),
                     dir + "/enc: pre-LN BERT (model.pre_layer_norm: true) has no Hugging Face BertConfig equivalent");
    CHECK_FALSE(fs::exists(dir + "/out"));
  }
}

namespace {

std::vector<std::string> tiny_mlm(const std::string& dir, const std::string& run) {
  return {"--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu", "--set", "data.train=" + dir + "/train.txt",
          "--set", "data.valid=" + dir + "/valid.txt", "--set", "tokenizer.vocab_size=200", "--set", "model.preset=null",
          "--set", "model.hidden_size=32", "--set", "model.num_layers=1", "--set", "model.num_heads=2",
          "--set", "model.intermediate_size=64", "--set", "mlm.max_length=32", "--set", "train.epochs=1",
          "--set", "train.batch_size=16"};
}

}  // namespace

TEST_CASE("pretrain, eval, predict, models and train --init through the CLI", "[cli][mlm]") {
  const std::string dir = attune::testing::temp_dir("cli-mlm");
  attune::testing::write_sentences(dir + "/train.txt", 300, 1);
  attune::testing::write_sentences(dir + "/valid.txt", 40, 2);
  attune::testing::write_topics_csv(dir + "/train.csv", 120, 5);

  const Result defaults = run_attune({"config", "--task", "mlm"});
  REQUIRE(defaults.status == 0);
  CHECK(json::parse(defaults.out)["mlm"]["mlm_probability"] == 0.15);

  const Result pre = run_attune(concat({"pretrain"}, tiny_mlm(dir, "models/pre")));
  INFO(pre.err);
  REQUIRE(pre.status == 0);
  CHECK(json::parse(pre.out)["valid"]["masked_accuracy"].is_number());

  const Result eval = run_attune({"eval", "--run", dir + "/models/pre", "--data", dir + "/valid.txt"});
  REQUIRE(eval.status == 0);
  const json m = json::parse(eval.out);
  for (const char* key : {"masked_accuracy", "perplexity", "loss"}) CHECK(m[key].is_number());
  CHECK(m["loss"] == json::parse(pre.out)["valid"]["loss"]);

  const Result fill = run_attune({"predict", "--run", dir + "/models/pre"}, "the big cat purrs in the [MASK].\n");
  REQUIRE(fill.status == 0);
  CHECK(json::parse(fill.out)["masks"].size() == 1);
  CHECK(json::parse(fill.out)["masks"][0].size() == 5);

  const Result models = run_attune({"models", "--json", "--dir", dir + "/models"});
  REQUIRE(models.status == 0);
  const json listed = json::parse(models.out);
  CHECK(listed["presets"][1]["name"] == "mini");
  CHECK(listed["presets"][1]["parameters"] == 11170560);  // google/bert_uncased_L-4_H-256_A-4
  std::set<std::string> types;
  for (const auto& a : listed["architectures"]) types.insert(a["model_type"].get<std::string>());
  CHECK(types.count("modernbert") == 1);
  CHECK(types.count("deberta-v2") == 1);
  bool found = false;
  for (const auto& r : listed["runs"]) {
    if (r["task"] == "mlm" && r["hidden"] == 32) found = r["metrics"].contains("valid_perplexity");
  }
  CHECK(found);

  const Result fine = run_attune(concat({"train", "--init", dir + "/models/pre"}, concat(tiny(dir, "cls"), {"--set", "train.epochs=1"})));
  INFO(fine.err);
  CHECK(fine.status == 0);
  CHECK(fine.err.find("init: encoder and tokenizer from") != std::string::npos);

  SECTION("bad pretraining input") {
    check_user_error(run_attune(concat({"pretrain"}, concat(tiny_mlm(dir, "r"), {"--set", "data.train=" + dir + "/none.txt"}))),
                     dir + "/none.txt: file does not exist");
    std::ofstream(dir + "/empty.txt") << "\n\n";
    check_user_error(run_attune(concat({"pretrain"}, concat(tiny_mlm(dir, "r"), {"--set", "data.train=" + dir + "/empty.txt"}))),
                     dir + "/empty.txt: no text");
    check_user_error(run_attune(concat({"pretrain"}, concat(tiny_mlm(dir, "r"), {"--set", "mlm.max_length=2"}))),
                     "mlm.max_length: value 2 out of range");
    check_user_error(run_attune(concat({"pretrain"}, concat(tiny_mlm(dir, "r"), {"--set", "mlm.mlm_probability=1.5"}))),
                     "mlm.mlm_probability");
    check_user_error(run_attune(concat({"pretrain"}, concat(tiny_mlm(dir, "r"), {"--set", "mlm.mlm_probability=0"}))),
                     "mlm.mlm_probability: must be in (0, 1)");
    check_user_error(run_attune(concat({"pretrain"}, concat(tiny_mlm(dir, "r"), {"--set", "model.name=gpt"}))), "model.name");
    check_user_error(run_attune({"pretrain", "--task", "mlm"}), "does not exist");
    check_user_error(run_attune({"eval", "--run", dir + "/models/pre", "--data", dir + "/none.txt"}),
                     dir + "/none.txt: file does not exist");
    check_user_error(run_attune({"models", "--dir", dir + "/nope"}), "--dir");
  }
}

TEST_CASE("train, translate and eval a tiny translation run; bad input exits 2 with one line", "[cli][translation]") {
  const std::string dir = attune::testing::temp_dir("cli-translation");
  attune::testing::write_number_pairs(dir + "/train.tsv", 300, 1);
  attune::testing::write_number_pairs(dir + "/test.tsv", 20, 2);
  const std::vector<std::string> tiny_mt = {
      "--task", "translation", "--set", "run_dir=" + dir + "/run", "--set", "device=cpu", "--set",
      "data.valid=" + dir + "/test.tsv", "--set",
      "tokenizer.vocab_size=100", "--set", "model.preset=transformer-tiny", "--set", "train.max_steps=4",
      "--set", "train.max_tokens=400", "--set", "train.eval_max_sentences=5"};
  const Result train = run_attune(concat({"train", "--set", "data.train=" + dir + "/train.tsv"}, tiny_mt));
  INFO(train.err);
  REQUIRE(train.status == 0);
  CHECK(json::parse(train.out)["valid"].contains("bleu"));

  // One line out per line in, empty lines kept, whatever the (barely trained) model says.
  const Result translated = run_attune({"translate", "--run", dir + "/run", "--beam", "2"}, "one two\n\nthree\n");
  INFO(translated.err);
  REQUIRE(translated.status == 0);
  CHECK(std::count(translated.out.begin(), translated.out.end(), '\n') == 3);
  const Result eval = run_attune({"eval", "--run", dir + "/run", "--data", dir + "/test.tsv"});
  REQUIRE(eval.status == 0);
  const json metrics = json::parse(eval.out);
  CHECK(metrics["sentences"] == 20);
  CHECK(metrics["beam_size"] == 4);
  CHECK(metrics.contains("chrf"));

  // The bundle decodes as the run does (beam search with the run's decode section).
  const Result exported = run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle"});
  INFO(exported.err);
  REQUIRE(exported.status == 0);
  CHECK(json::parse(exported.out)["task"] == "translation");
  const std::string sentences = "one two three\n\nfour five\nsix\n";
  const Result from_run = run_attune({"predict", "--run", dir + "/run"}, sentences);
  const Result from_bundle = run_attune({"predict", "--bundle", dir + "/bundle"}, sentences);
  INFO(from_bundle.err);
  REQUIRE(from_bundle.status == 0);
  CHECK(from_bundle.out == from_run.out);
  CHECK(std::count(from_bundle.out.begin(), from_bundle.out.end(), '\n') == 4);

  fs::create_directories(dir + "/classifier");
  std::ofstream(dir + "/classifier/config.json") << R"({"task": "text-classification"})";
  check_user_error(run_attune({"translate", "--run", dir + "/classifier"}),
                   dir + "/classifier: not a translation run (its config.json has task 'text-classification')");
  check_user_error(run_attune({"translate", "--run", dir + "/run", "--input", dir + "/missing.txt"}), "missing.txt");
  std::ofstream(dir + "/a.en") << "one\ntwo\n";
  std::ofstream(dir + "/a.de") << "eins\n";
  check_user_error(run_attune(concat({"train"}, concat(tiny_mt, {"--overwrite", "--set",
                                                                 R"(data.train={"source": ")" + dir + R"(/a.en", "target": ")" +
                                                                     dir + R"(/a.de"})"}))),
                   dir + "/a.en: has 2 lines but " + dir + "/a.de has 1: the files must be line-aligned");
  check_user_error(run_attune({"eval", "--run", dir + "/run", "--data", dir + "/train.csv"}),
                   dir + "/train.csv: file does not exist");
}

namespace {

// Same labels, and probabilities within 1e-5; returns the largest difference.
double compare_predictions(const std::string& a, const std::string& b) {
  const std::vector<json> x = json_lines(a), y = json_lines(b);
  REQUIRE(x.size() == y.size());
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i]["label"] == y[i]["label"]);
    REQUIRE(x[i]["probabilities"].size() == y[i]["probabilities"].size());
    for (const auto& item : x[i]["probabilities"].items()) {
      worst = std::max(worst, std::abs(item.value().get<double>() - y[i]["probabilities"][item.key()].get<double>()));
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("explain returns per-head attention, rollout and a heat map for one text", "[cli][explain]") {
  const std::string dir = attune::testing::temp_dir("cli-explain");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  REQUIRE(run_attune(concat({"train"}, tiny(dir, "run"))).status == 0);
  const Result r = run_attune({"explain", "--run", dir + "/run", "--input", "cheese bread soup", "--layer", "0",
                               "--html", dir + "/explain.html"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json e = json::parse(r.out);
  const size_t t = e["tokens"].size();
  CHECK(e["tokens"].front() == "[CLS]");
  CHECK(e["label"] == "food");
  CHECK(e["layer"] == 0);
  REQUIRE(e["heads"].size() == 2);  // tiny(): 2 heads
  CHECK(e["heads"][1].size() == t);
  CHECK(e["rollout"].size() == t);
  double total = 0.0;
  for (const auto& w : e["importance"]) total += w.get<double>();
  CHECK(total == Approx(1.0));
  const std::string html = slurp(dir + "/explain.html");
  CHECK(html.find("cheese") != std::string::npos);
  CHECK(html.find("<table>") != std::string::npos);
  check_user_error(run_attune({"explain", "--run", dir + "/run", "--input", "x", "--layer", "5"}),
                   "--layer: 5 is outside the encoder's 1 layers");
  check_user_error(run_attune({"explain", "--run", dir + "/run", "--input", "x", "--png", dir + "/x.png"}),
                   "--png: is for image runs; text runs write --html");
}

TEST_CASE("explain draws an image run's heat maps into a PNG; bad inputs exit 2 with one line", "[cli][explain]") {
  const std::string dir = attune::testing::temp_dir("cli-explain-image");
  // 40 random 8x8 images and labels 0..3, as IDX files.
  const auto idx = attune::testing::write_idx;
  std::vector<uint8_t> pixels, labels;
  for (int i = 0; i < 40 * 64; ++i) pixels.push_back(static_cast<uint8_t>((i * 37) % 251));
  for (int i = 0; i < 40; ++i) labels.push_back(static_cast<uint8_t>(i % 4));
  idx(dir + "/images", {40, 8, 8}, pixels);
  idx(dir + "/labels", {40}, labels);
  REQUIRE(run_attune({"train", "--task", "image-classification", "--set", "run_dir=" + dir + "/run", "--set",
                      "data.train_images=" + dir + "/images", "--set", "data.train_labels=" + dir + "/labels",
                      "--set", "data.valid_size=8", "--set", "model.patch_size=4", "--set", "model.hidden_size=8",
                      "--set", "model.num_layers=1", "--set", "model.num_heads=2", "--set", "model.mlp_size=16",
                      "--set", "train.epochs=1", "--set", "device=cpu"})
              .status == 0);
  const Result r = run_attune({"explain", "--run", dir + "/run", "--input", dir + "/images:1,2", "--png",
                               dir + "/explain.png", "--scale", "2"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json e = json::parse(r.out);
  CHECK(e["grid"] == 2);
  CHECK(e["images"].size() == 2);
  const std::string png = slurp(dir + "/explain.png");
  CHECK(png.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  // IHDR: width 2 images x 8 pixels x scale 2, height 2 x 8 x 2.
  CHECK(png.substr(16, 8) == std::string("\0\0\0\x20\0\0\0\x20", 8));
  check_user_error(run_attune({"explain", "--run", dir + "/run", "--input", dir + "/images:40"}),
                   "--input: image 40 is past the file's 40");
  check_user_error(run_attune({"explain", "--run", dir + "/run", "--input", dir + "/images", "--html", dir + "/x.html"}),
                   "--html: is for text runs; image runs write --png");
  check_user_error(run_attune({"explain", "--run", dir + "/run", "--input", dir + "/images", "--png", dir + "/x.png",
                               "--scale", "0"}),
                   "--scale: must be in 1..64, got 0");
}

TEST_CASE("recommendation: train, eval without data, recommend; bad requests exit 2 with one line",
          "[cli][recommendation]") {
  const std::string dir = attune::testing::temp_dir("cli-rec");
  {
    std::ofstream log(dir + "/log.csv");
    log << "user,item,t\n";
    for (int u = 0; u < 12; ++u)
      for (int i = 0; i < 5; ++i) log << "u" << u << ",m" << (u + i) % 7 << "," << i << "\n";
  }
  const std::vector<std::string> train = {"train", "--task", "recommendation", "--set", "run_dir=" + dir + "/run",
                                          "--set", "data.interactions=" + dir + "/log.csv", "--set",
                                          "data.time_column=t", "--set", "model.name=item-knn", "--set", "device=cpu"};
  const Result trained = run_attune(train);
  INFO(trained.err);
  REQUIRE(trained.status == 0);
  const json summary = json::parse(trained.out);
  CHECK(summary["users"] == 12);
  const Result evaluated = run_attune({"eval", "--run", dir + "/run"});
  REQUIRE(evaluated.status == 0);
  CHECK(json::parse(evaluated.out)["ndcg@10"] == summary["test"]["ndcg@10"]);
  const Result top = run_attune({"recommend", "--run", dir + "/run", "--top-k", "2"}, "{\"history\": [\"m1\"]}\n");
  REQUIRE(top.status == 0);
  CHECK(json::parse(top.out)["items"].size() == 2);
  const Result to_file = run_attune({"recommend", "--run", dir + "/run", "--top-k", "2", "--output", dir + "/top.jsonl"},
                                    "{\"history\": [\"m1\"]}\n");
  REQUIRE(to_file.status == 0);
  CHECK(to_file.out.empty());
  CHECK(slurp(dir + "/top.jsonl") == top.out);
  check_user_error(run_attune({"recommend", "--run", dir + "/run"}, "{\"history\": []}\n"),
                   "<stdin>:1: empty history");
  check_user_error(run_attune({"recommend", "--run", dir + "/run", "--top-k", "0"}, ""), "--top-k: must be >= 1");
  check_user_error(run_attune({"eval", "--run", dir + "/run", "--data", dir + "/missing.csv"}), "missing.csv: no such file");
  std::vector<std::string> bad_loss = train;
  bad_loss.insert(bad_loss.end(), {"--overwrite", "--set", "objective.loss=hinge"});
  check_user_error(run_attune(bad_loss), "objective.loss");
}

TEST_CASE("export writes a bundle that predict --bundle runs alone, as predict --run does", "[cli][export]") {
  const std::string dir = attune::testing::temp_dir("cli-export");
  attune::testing::write_topics_csv(dir + "/train.csv", 160, 21);
  std::string texts = "cheese bread soup\nteam goal match score\n{\"text\": \"laptop server compiler code\"}\n\n";
  for (int i = 0; i < 40; ++i) texts += std::string(i % 3 ? "the " : "a very old ") + (i % 2 ? "match" : "soup") + "\n";
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
      {"full", {}},
      {"lora", {"--set", "peft.method=lora", "--set", "train.lr=1e-2"}},
      {"prefix", {"--set", "peft.method=prefix_tuning", "--set", "peft.num_virtual_tokens=4", "--set", "head.pooling=cls"}},
  };
  for (const auto& [name, extra] : runs) {
    CAPTURE(name);
    const Result train = run_attune(concat({"train"}, concat(tiny(dir, name), concat({"--set", "train.epochs=2"}, extra))));
    INFO(train.err);
    REQUIRE(train.status == 0);
    const Result exported = run_attune({"export", "--run", dir + "/" + name, "--out", dir + "/bundles/" + name});
    INFO(exported.err);
    REQUIRE(exported.status == 0);
    const json summary = json::parse(exported.out);
    CHECK(summary["check_max_abs_diff"].get<double>() < 1e-5);
    const json manifest = attune::io::read_json(dir + "/bundles/" + name + "/manifest.json");
    CHECK(manifest["format"] == "attune-bundle");
    CHECK(manifest["task"] == "text-classification");
    CHECK(manifest["labels"] == json({"food", "sport", "tech"}));
    CHECK(manifest["max_length"] == 24);
    CHECK(manifest["inputs"][0]["shape"] == json({"batch", "length"}));
    CHECK(manifest["peft"]["method"] == (name == "full" ? json() : json(name == "lora" ? "lora" : "prefix_tuning")));
    CHECK(manifest["peft"]["merged"] == (name == "lora"));
    for (const char* f : {"model.pt", "config.json", "tokenizer/tokenizer.json", "tokenizer/vocab.txt"}) {
      CHECK(fs::exists(dir + "/bundles/" + name + "/" + f));
    }
    // The run directory is not needed any more: predict from a copy of the bundle alone.
    fs::copy(dir + "/bundles/" + name, dir + "/elsewhere-" + name, fs::copy_options::recursive);
    const Result from_run = run_attune({"predict", "--run", dir + "/" + name, "--batch-size", "7"}, texts);
    const Result from_bundle = run_attune({"predict", "--bundle", dir + "/elsewhere-" + name, "--batch-size", "7"}, texts);
    INFO(from_bundle.err);
    REQUIRE(from_run.status == 0);
    REQUIRE(from_bundle.status == 0);
    CHECK(compare_predictions(from_run.out, from_bundle.out) < 1e-5);
  }
  CHECK(json_lines(run_attune({"predict", "--bundle", dir + "/bundles/full"}, "cheese bread soup\n").out)[0]["label"] == "food");
}

TEST_CASE("export and predict --bundle refuse bad bundles and targets with one line", "[cli][export][errors]") {
  const std::string dir = attune::testing::temp_dir("cli-export-errors");
  attune::testing::write_topics_csv(dir + "/train.csv", 100, 22);
  REQUIRE(run_attune(concat({"train"}, concat(tiny(dir, "run"), {"--set", "train.epochs=1"}))).status == 0);
  const std::string b = dir + "/bundle";
  REQUIRE(run_attune({"export", "--run", dir + "/run", "--out", b}).status == 0);
  auto predict = [&] { return run_attune({"predict", "--bundle", b}, "cheese\n"); };

  SECTION("--out not empty") {
    check_user_error(run_attune({"export", "--run", dir + "/run", "--out", b}),
                     b + ": exists and is not empty (use --overwrite to replace a bundle there)");
    CHECK(run_attune({"export", "--run", dir + "/run", "--out", b, "--overwrite"}).status == 0);
    CHECK(predict().status == 0);
    check_user_error(run_attune({"export", "--run", dir + "/run", "--out", dir + "/run", "--overwrite"}),
                     dir + "/run: exists and is not an attune bundle");
  }
  SECTION("missing model.pt") {
    fs::remove(b + "/model.pt");
    check_user_error(predict(), b + "/model.pt: missing (manifest.json lists it)");
  }
  SECTION("a corrupted byte in model.pt") {
    std::string bytes = attune::io::read_file(b + "/model.pt");
    bytes[bytes.size() / 3] ^= 0x01;
    attune::io::write_file_atomic(b + "/model.pt", bytes);
    check_user_error(predict(), b + "/model.pt: SHA-256 does not match manifest.json");
  }
  SECTION("manifest missing a key") {
    json m = attune::io::read_json(b + "/manifest.json");
    m.erase("labels");
    attune::io::write_json_atomic(b + "/manifest.json", m);
    check_user_error(predict(), b + "/manifest.json: missing key 'labels'");
  }
  SECTION("not a bundle, not exportable, wrong flags") {
    check_user_error(run_attune({"predict", "--bundle", dir + "/run"}), dir + "/run: not an attune bundle (no manifest.json)");
    check_user_error(run_attune({"predict", "--bundle", b, "--run", dir + "/run"}), "give either --run DIR or --bundle DIR");
    check_user_error(run_attune({"export", "--run", dir + "/run"}), "--out DIR is required");
    fs::create_directories(dir + "/mlm");
    std::ofstream(dir + "/mlm/config.json") << R"({"task": "mlm"})";
    // A run directory whose config.json lost a section: one line naming it, for every command.
    check_user_error(run_attune({"export", "--run", dir + "/mlm", "--out", dir + "/o"}), "data: missing config key");
    check_user_error(run_attune({"predict", "--run", dir + "/mlm", "--input", "-"}), "data: missing config key");
    CHECK_FALSE(fs::exists(dir + "/o"));
  }
}

TEST_CASE("export --int8 and --bf16 write bundles that predict as the float32 one", "[cli][export]") {
  const std::string dir = attune::testing::temp_dir("cli-int8");
  attune::testing::write_topics_csv(dir + "/train.csv", 160, 21);
  REQUIRE(run_attune(concat({"train"}, concat(tiny(dir, "run"), {"--set", "train.epochs=3"}))).status == 0);
  REQUIRE(run_attune({"export", "--run", dir + "/run", "--out", dir + "/fp32"}).status == 0);
  std::string texts;
  for (int i = 0; i < 30; ++i) texts += std::string(i % 3 ? "the " : "a very old ") + (i % 2 ? "match goal" : "cheese soup") + "\n";
  const std::vector<json> a = json_lines(run_attune({"predict", "--bundle", dir + "/fp32"}, texts).out);
  REQUIRE(a.size() == 30);
  for (const auto& [flag, dtype] : {std::pair<std::string, std::string>{"--int8", "int8-dynamic"}, {"--bf16", "bfloat16"}}) {
    {
      INFO(flag);
      const Result low = run_attune({"export", "--run", dir + "/run", "--out", dir + "/low", "--overwrite", flag});
      INFO(low.err);
      REQUIRE(low.status == 0);
      CHECK(json::parse(low.out)["dtype"] == dtype);
      const json manifest = attune::io::read_json(dir + "/low/manifest.json");
      CHECK(manifest["model"]["dtype"] == dtype);
      CHECK(manifest["model"].contains("quantized_engine") == (flag == "--int8"));
      CHECK(manifest["outputs"][0]["dtype"] == "float32");
      CHECK(fs::file_size(dir + "/low/model.pt") < fs::file_size(dir + "/fp32/model.pt"));
      const std::vector<json> b = json_lines(run_attune({"predict", "--bundle", dir + "/low"}, texts).out);
      REQUIRE(b.size() == 30);
      double worst = 0.0;
      bool any_different = false;
      for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i]["label"] == b[i]["label"]);
        for (const auto& item : a[i]["probabilities"].items()) {
          const double d = std::abs(item.value().get<double>() - b[i]["probabilities"][item.key()].get<double>());
          worst = std::max(worst, d);
          any_different = any_different || d > 0;
        }
      }
      CHECK(worst < 0.05);
      CHECK(any_different);  // it really is a different (lower-precision) computation
    }
  }
  {  // flags that do not go together
    check_user_error(run_attune({"export", "--run", dir + "/run", "--out", dir + "/x", "--int8", "--bf16"}),
                     "--bf16: choose one of --int8 and --bf16");
    check_user_error(run_attune({"export", "--run", dir + "/run", "--out", dir + "/x", "--bf16", "--adapter-base"}),
                     "--adapter-base: adapters are served on a float32 base; leave out --bf16");
    CHECK_FALSE(fs::exists(dir + "/x"));
  }
}

namespace {

// A tiny image-classification run trained by the CLI on 8x8 quadrant images, and its bundle.
void train_and_export_image_run(const std::string& dir) {
  attune::testing::write_quadrants(dir, "train", 160, 8, 5);
  attune::testing::write_quadrants(dir, "test", 13, 8, 6);
  const Result train = run_attune({"train", "--task", "image-classification", "--set", "run_dir=" + dir + "/run", "--set",
                                   "data.train_images=" + dir + "/train-images", "--set",
                                   "data.train_labels=" + dir + "/train-labels", "--set", "data.valid_size=20", "--set",
                                   "model.patch_size=4", "--set", "model.hidden_size=16", "--set", "model.num_layers=1",
                                   "--set", "model.num_heads=2", "--set", "model.mlp_size=32", "--set", "train.epochs=1",
                                   "--set", "device=cpu"});
  INFO(train.err);
  REQUIRE(train.status == 0);
  const Result exported = run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle"});
  INFO(exported.err);
  REQUIRE(exported.status == 0);
  CHECK(json::parse(exported.out)["check_max_abs_diff"].get<double>() < 1e-6);
}

}  // namespace

TEST_CASE("an image run's bundle predicts IDX images as predict --run does; bad inputs exit 2 with one line",
          "[cli][export][image]") {
  const std::string dir = attune::testing::temp_dir("cli-image-export");
  train_and_export_image_run(dir);
  CHECK(attune::io::read_json(dir + "/bundle/manifest.json")["task"] == "image-classification");
  const Result from_run = run_attune({"predict", "--run", dir + "/run", "--input", dir + "/test-images", "--batch-size", "5"});
  const Result from_bundle =
      run_attune({"predict", "--bundle", dir + "/bundle", "--input", dir + "/test-images", "--batch-size", "5"});
  INFO(from_bundle.err);
  REQUIRE(from_run.status == 0);
  REQUIRE(from_bundle.status == 0);
  CHECK(json_lines(from_bundle.out).size() == 13);
  CHECK(compare_predictions(from_run.out, from_bundle.out) < 1e-5);
  check_user_error(run_attune({"predict", "--bundle", dir + "/bundle", "--input", dir + "/test-labels"}),
                   dir + "/test-labels: expected an IDX images file of rank 3 (N, H, W)");
  // A ViT trained from scratch goes to transformers too; one pooled otherwise has no place there.
  const Result to_hf = run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/hf"});
  INFO(to_hf.err);
  CHECK(to_hf.status == 0);
  CHECK(attune::io::read_json(dir + "/hf/config.json")["architectures"] == json({"ViTForImageClassification"}));
  fs::copy(dir + "/run", dir + "/mean-run", fs::copy_options::recursive);
  json mean_config = attune::io::read_json(dir + "/mean-run/config.json");
  mean_config["model"]["pooling"] = "mean";
  attune::io::write_json_atomic(dir + "/mean-run/config.json", mean_config);
  check_user_error(run_attune({"convert", "--run", dir + "/mean-run", "--to-hf", dir + "/hf-mean"}),
                   dir + "/mean-run: cannot export to transformers: model.pooling: 'mean' has no transformers counterpart");
  check_user_error(run_attune({"export", "--run", dir + "/run", "--out", dir + "/base", "--adapter-base"}),
                   "--adapter-base: serving adapters is implemented for text-classification runs only");
}

#if ATTUNE_HAS_SERVE
#include "tests/common/serve_process.h"
#include "tests/common/streams.h"

#include <httplib.h>

#include <atomic>
#include <csignal>
#include <thread>

using attune::testing::Server;
using attune::testing::start_server;

namespace {

// POST /predict of each body is answered 400 with an error that contains its message.
void check_bad_requests(httplib::Client& client, const std::vector<std::pair<std::string, std::string>>& bad) {
  for (const auto& [body, message] : bad) {
    CAPTURE(body);
    const auto res = client.Post("/predict", body, "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(json::parse(res->body)["error"].get<std::string>().find(message) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("serve answers concurrent requests as predict --bundle does, refuses bad ones with 4xx, stops on SIGTERM",
          "[cli][serve]") {
  const std::string dir = attune::testing::temp_dir("cli-serve");
  attune::testing::write_topics_csv(dir + "/train.csv", 160, 21);
  REQUIRE(run_attune(concat({"train"}, concat(tiny(dir, "run"), {"--set", "train.epochs=2"}))).status == 0);
  REQUIRE(run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle"}).status == 0);
  std::vector<std::string> texts;
  std::string lines;
  for (int i = 0; i < 30; ++i) {
    texts.push_back(std::string(i % 3 ? "the " : "a very old ") + (i % 2 ? "match goal" : "soup") + std::string(i % 5, '!'));
    lines += texts.back() + "\n";
  }
  const std::vector<json> expected = json_lines(run_attune({"predict", "--bundle", dir + "/bundle"}, lines).out);
  REQUIRE(expected.size() == texts.size());

  check_user_error(run_attune({"serve", "--bundle", dir + "/bundle", "--max-batch", "0"}), "--max-batch: must be >= 1");
  check_user_error(run_attune({"serve", "--bundle", dir + "/bundle", "--port", "70000"}), "--port: must be in 0..65535");
  check_user_error(run_attune({"serve", "--bundle", dir + "/run"}), dir + "/run: not an attune bundle (no manifest.json)");
  check_user_error(run_attune({"serve"}), "attune serve: --bundle DIR is required");

  const Server server = start_server(dir + "/bundle", dir);
  const int port = server.port, pid = server.pid;
  const std::string log = server.log;
  {
    // A port that a server listens on is refused, not shared with it (a second server
    // that started would run until killed at the deadline: -1).
    attune::testing::Process second = attune::testing::spawn_attune(
        {"serve", "--bundle", dir + "/bundle", "--port", std::to_string(port)}, {}, dir + "/second");
    CHECK(attune::testing::wait_for(second, std::chrono::seconds(60)) == 2);
    CHECK(second.err().find("attune: error: --port: cannot listen on 127.0.0.1:" + std::to_string(port)) !=
          std::string::npos);
  }

  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 12; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      for (int r = 0; r < 10; ++r) {
        json inputs = json::array();
        std::vector<size_t> index;
        for (int k = 0; k <= (c + r) % 3; ++k) {
          index.push_back((c * 7 + r * 3 + k) % texts.size());
          inputs.push_back(texts[index.back()]);
        }
        const auto res = client.Post("/predict", json{{"inputs", inputs}}.dump(), "application/json");
        if (!res || res->status != 200) {
          ++failed;
          continue;
        }
        const json outputs = json::parse(res->body)["outputs"];
        for (size_t k = 0; k < index.size(); ++k) {
          const json& got = outputs.at(k);
          const json& want = expected[index[k]];
          bool same = got["label"] == want["label"];
          for (const auto& item : want["probabilities"].items()) {
            same = same && std::abs(got["probabilities"][item.key()].get<double>() - item.value().get<double>()) < 1e-5;
          }
          if (!same) ++wrong;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(wrong == 0);

  // 128 clients connecting at once, each with 12 requests on its connection: no request
  // may fail to connect or to read (the listen backlog and connection reuse of issue 25).
  std::atomic<int> lost{0};
  std::vector<std::thread> burst;
  for (int c = 0; c < 128; ++c) {
    burst.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      for (int r = 0; r < 12; ++r) {
        const auto res = client.Post("/predict", json{{"input", texts[(c + r) % texts.size()]}}.dump(), "application/json");
        if (!res || res->status != 200) ++lost;
      }
    });
  }
  for (auto& t : burst) t.join();
  CHECK(lost == 0);

  httplib::Client client("127.0.0.1", port);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "body: not valid JSON"},
      {R"({"inputs": "one text"})", "inputs: must be a list"},
      {R"({"inputs": []})", "inputs: is empty"},
      {R"({"inputs": ["fine", 7]})", "inputs[1]: expected a text"},
      {R"({"input": {"title": "no text key"}})", "input: missing key 'text'"},
      {R"({"texts": ["x"]})", "expected a JSON object with \"inputs\""},
  };
  check_bad_requests(client, bad);
  const auto missing = client.Get("/nothing");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  const auto health = client.Get("/health");  // still up after the bad requests
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(json::parse(health->body)["model"]["labels"] == json({"food", "sport", "tech"}));
  const auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("attune_requests_total " + std::to_string(120 + 128 * 12)) != std::string::npos);
  CHECK(metrics->body.find("attune_client_errors_total 6") != std::string::npos);

  ::kill(pid, SIGTERM);
  bool stopped = false;
  for (int i = 0; i < 100 && !stopped; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stopped = slurp(log).find("attune serve: stopped") != std::string::npos;
  }
  CHECK(stopped);
}

TEST_CASE("serve answers an image bundle's pixel lists and PNGs as predict --bundle does; bad images get 400",
          "[cli][serve][image]") {
  const std::string dir = attune::testing::temp_dir("cli-serve-image");
  train_and_export_image_run(dir);
  const std::vector<json> expected =
      json_lines(run_attune({"predict", "--bundle", dir + "/bundle", "--input", dir + "/test-images"}).out);
  REQUIRE(expected.size() == 13);
  const torch::Tensor images = attune::data::read_idx(dir + "/test-images");
  json inputs = json::array();
  for (int64_t i = 0; i < 13; ++i) {
    json rows = json::array();
    for (int64_t y = 0; y < 8; ++y) {
      json row = json::array();
      for (int64_t x = 0; x < 8; ++x) row.push_back(images[i][y][x].item<int64_t>());
      rows.push_back(row);
    }
    // Every third image as a PNG, the others as pixel lists.
    inputs.push_back(i % 3 == 0 ? json{{"png", attune::formats::encode_base64(attune::formats::encode_png(
                                                   images[i].unsqueeze(-1).contiguous()))}}
                                : rows);
  }
  const Server server = start_server(dir + "/bundle", dir);
  httplib::Client client("127.0.0.1", server.port);
  const auto res = client.Post("/predict", json{{"inputs", inputs}}.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const json outputs = json::parse(res->body)["outputs"];
  std::string served, wanted;
  for (size_t i = 0; i < expected.size(); ++i) {
    served += outputs.at(i).dump() + "\n";
    wanted += expected[i].dump() + "\n";
  }
  CHECK(compare_predictions(wanted, served) < 1e-5);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"inputs": [[[1, 2], [3, 4]]]})", "inputs[0]: expected 8 rows, got 2"},
      {R"({"input": {"png": "not base64!"}})", "input: invalid base64: length 11 is not a multiple of 4"},
      {R"({"inputs": [[[0, 0, 0, 0, 0, 0, 0, 0]], "x"]})", "inputs[0]: expected 8 rows, got 1"},
      {R"({"inputs": ["x"]})", "inputs[0]: expected an image: a 8x8 list of pixel rows (0..255)"},
  };
  check_bad_requests(client, bad);
  const auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(json::parse(health->body)["model"]["image_size"] == 8);
  ::kill(server.pid, SIGTERM);
}

TEST_CASE("serve translates with a translation bundle as predict --bundle does", "[cli][serve][translation]") {
  const std::string dir = attune::testing::temp_dir("cli-serve-mt");
  attune::testing::write_number_pairs(dir + "/train.tsv", 300, 1);
  REQUIRE(run_attune({"train", "--task", "translation", "--set", "run_dir=" + dir + "/run", "--set", "device=cpu",
                      "--set", "data.train=" + dir + "/train.tsv", "--set", "tokenizer.vocab_size=100", "--set",
                      "model.preset=transformer-tiny", "--set", "train.max_steps=4", "--set", "train.max_tokens=400",
                      "--set", "train.eval_max_sentences=5"})
              .status == 0);
  REQUIRE(run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle"}).status == 0);
  const std::vector<std::string> sentences = {"one two three", "four five", "six", "", "seven eight nine ten",
                                              "eleven twelve", "thirteen"};
  std::string text;
  for (const std::string& line : sentences) text += line + "\n";
  const Result expected = run_attune({"predict", "--bundle", dir + "/bundle"}, text);
  REQUIRE(expected.status == 0);
  const std::vector<std::string> expected_lines = attune::testing::lines_of(expected.out);
  REQUIRE(expected_lines.size() == sentences.size());
  // Continuous batching (the default for translation) and static batching answer alike,
  // for one request of many sentences and for concurrent requests of one each.
  for (const std::string batching : {"continuous", "static"}) {
    INFO("--batching " << batching);
    const Server server = start_server(dir + "/bundle", dir, "--batching " + batching);
    httplib::Client client("127.0.0.1", server.port);
    const auto health = client.Get("/health");
    REQUIRE(health);
    CHECK(json::parse(health->body)["batching"] == (batching == "continuous" ? "continuous" : "dynamic"));
    const auto res = client.Post("/predict", json{{"inputs", sentences}}.dump(), "application/json");
    REQUIRE(res);
    CHECK(res->status == 200);
    std::string lines;
    const json outputs = json::parse(res->body)["outputs"];
    for (const json& o : outputs) lines += o["translation"].get<std::string>() + "\n";
    CHECK(lines == expected.out);
    std::vector<std::string> one_each(sentences.size());
    std::vector<std::thread> clients;
    for (size_t i = 0; i < sentences.size(); ++i) {
      clients.emplace_back([&, i] {
        httplib::Client c("127.0.0.1", server.port);
        const auto r = c.Post("/predict", json{{"input", sentences[i]}}.dump(), "application/json");
        if (r && r->status == 200) one_each[i] = json::parse(r->body)["outputs"][0]["translation"].get<std::string>();
      });
    }
    for (auto& t : clients) t.join();
    CHECK(one_each == expected_lines);
    const auto bad = client.Post("/predict", R"({"inputs": [{"text": "x"}]})", "application/json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(bad->body.find("inputs[0]: expected a sentence") != std::string::npos);
    ::kill(server.pid, SIGTERM);
  }
  const Result wrong = run_attune({"serve", "--bundle", dir + "/bundle", "--port", "0", "--batching", "rolling"});
  CHECK(wrong.status != 0);
  CHECK(wrong.err.find("--batching: must be auto, static or continuous, not 'rolling'") != std::string::npos);
}
#endif

TEST_CASE("bench times a tiny model's training and inference; bad flags exit 2 with one line", "[cli][bench]") {
  const std::vector<std::string> tiny_model = {"bench", "--device", "cpu", "--set", "model.preset=tiny", "--seq-len", "16",
                                               "--batch-size", "4", "--warmup", "1", "--steps", "2", "--repeats", "2",
                                               "--vocab-size", "100", "--latency-runs", "3"};
  const Result train = run_attune(tiny_model);
  REQUIRE(train.status == 0);
  const nlohmann::json t = nlohmann::json::parse(train.out);
  CHECK(t["mode"] == "train");
  CHECK(t["method"] == "full");
  CHECK(t["parameters"] == t["trainable_parameters"]);
  CHECK(t["step_ms"]["runs"].size() == 2);
  CHECK(t["step_ms"]["min"].get<double>() > 0);
  CHECK(t["tokens_per_s"].get<double>() == Approx(16 * t["samples_per_s"].get<double>()));

  CHECK(t["cuda_graphs"] == false);
  CHECK(t["cuda_graphs_off"] == "the device is cpu");  // on by default
  CHECK(t["fusions"] == nlohmann::json{{"qkv", true}, {"qkv_cpu", false}, {"bf16_stream", true}});
  CHECK(t["ablation"] == "");
  // AdamW's state: at most 8 bytes per trainable fp32 parameter (none for one without a gradient).
  CHECK(t["zero"] == 0);
  CHECK(t["optimizer_state_bytes"].get<int64_t>() > 0);
  CHECK(t["optimizer_state_bytes"].get<int64_t>() <= 8 * t["trainable_parameters"].get<int64_t>());
  CHECK_FALSE(t.contains("optimizer_state_bytes_per_rank"));

  // Graphs asked for on the CPU: eager steps, and the record says why. train.zero=1 in a
  // process alone has no rank to shard with: it changes nothing.
  const Result lora = run_attune(concat(tiny_model, {"--set", "peft.method=lora", "--set", "train.cuda_graphs=true",
                                                     "--set", "train.zero=1"}));
  REQUIRE(lora.status == 0);
  const nlohmann::json l = nlohmann::json::parse(lora.out);
  CHECK(l["cuda_graphs"] == false);
  CHECK(l["cuda_graphs_off"] == "the device is cpu");
  CHECK(l["graphs_captured"] == 0);
  CHECK(l["zero"] == 0);
  const Result eager = run_attune(concat(tiny_model, {"--no-cuda-graphs", "--steps", "1", "--repeats", "1"}));
  REQUIRE(eager.status == 0);
  CHECK(nlohmann::json::parse(eager.out)["ablation"] == "no-cuda-graphs");
  CHECK(l["method"] == "lora");
  CHECK(l["trainable_parameters"].get<int64_t>() < l["parameters"].get<int64_t>() / 10);

  const Result infer = run_attune(concat(tiny_model, {"--mode", "infer"}));
  REQUIRE(infer.status == 0);
  const nlohmann::json i = nlohmann::json::parse(infer.out);
  for (const char* variant : {"eager", "script", "script_int8", "script_bf16"}) {
    CHECK(i[variant]["samples_per_s"].get<double>() > 0);
    CHECK(i[variant]["latency_ms"]["median"].get<double>() > 0);
    CHECK(i[variant]["stream_ms"].get<double>() > 0);
    CHECK(i[variant]["stream_batches"] == 16);
  }
  CHECK(i["script_int8"]["engine"].is_string());
  CHECK(i["int8_speedup"]["batch"].get<double>() ==
        Approx(i["script"]["batch_ms"]["median"].get<double>() / i["script_int8"]["batch_ms"]["median"].get<double>()));
  CHECK(i["bf16_speedup"]["latency"].get<double>() ==
        Approx(i["script"]["latency_ms"]["median"].get<double>() / i["script_bf16"]["latency_ms"]["median"].get<double>()));
  check_user_error(run_attune(concat(tiny_model, {"--mode", "fast"})), "--mode: unknown mode 'fast'");
  check_user_error(run_attune(concat(tiny_model, {"--seq-len", "600"})), "--seq-len: 600 exceeds model.max_length (512)");
  check_user_error(run_attune(concat(tiny_model, {"--set", "task=translation"})),
                   "task: attune bench measures text-classification configs, not 'translation'");
  check_user_error(run_attune(concat(tiny_model, {"--steps", "0"})), "--steps: too small");
  check_user_error(run_attune(concat(tiny_model, {"--warmup", "-1"})), "--warmup: must be >= 0");
  check_user_error(run_attune({"bench", "--mode", "matmul", "--device", "cpu", "--matmul-size", "8"}),
                   "--matmul-size: must be at least 16");

  // Each fused path switched off alone is an ablation of the record.
  const Result unfused = run_attune(concat(tiny_model, {"--unfuse", "qkv", "--steps", "1", "--repeats", "1"}));
  REQUIRE(unfused.status == 0);
  CHECK(nlohmann::json::parse(unfused.out)["ablation"] == "unfused-qkv");
  CHECK(nlohmann::json::parse(unfused.out)["unfused"] == nlohmann::json::array({"qkv"}));
  CHECK(nlohmann::json::parse(unfused.out)["fusions"]["qkv"] == false);
  const Result qkv = run_attune(concat(tiny_model, {"--fuse", "qkv", "--steps", "1", "--repeats", "1"}));
  REQUIRE(qkv.status == 0);
  CHECK(nlohmann::json::parse(qkv.out)["ablation"] == "fused-qkv");
  check_user_error(run_attune(concat(tiny_model, {"--unfuse", "softmax"})),
                   "--unfuse: unknown fused path 'softmax' (known: qkv, qkv_cpu, bf16_stream)");
  const Result stream = run_attune(concat(tiny_model, {"--fuse", "bf16_stream", "--steps", "1", "--repeats", "1"}));
  REQUIRE(stream.status == 0);
  CHECK(nlohmann::json::parse(stream.out)["fused"] == nlohmann::json::array({"bf16_stream"}));
  setenv("ATTUNE_FUSE", "qkv,nope", 1);
  const Result bad_env = run_attune(tiny_model);
  unsetenv("ATTUNE_FUSE");
  check_user_error(bad_env, "ATTUNE_FUSE: unknown fused path 'nope'");
  if (!attune::compat::can_trace()) {
    check_user_error(run_attune(concat(tiny_model, {"--trace", "/tmp/never.json"})), "--trace: traces need LibTorch 2.x");
  }
}
