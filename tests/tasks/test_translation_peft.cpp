// PEFT on translation, from transformers' own MarianMTModel (tests/fixtures/marian/opus-joint):
// a LoRA run trains only its adapter, saves it under PEFT's names for that model, resumes
// exactly, and exports, merges and converts with it folded in.
#include "tests/catch.h"

#include "core/config.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "tasks/registry.h"
#include "tasks/translation/config.h"
#include "tasks/translation/export.h"
#include "tasks/translation/hf_export.h"
#include "tasks/translation/peft.h"
#include "tasks/translation/task.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <sstream>

namespace mtp {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kMarianFixture = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/marian/opus-joint";

std::string mtp_data(const std::string& name) {
  const std::string dir = attune::testing::temp_dir(name);
  attune::testing::write_number_pairs(dir + "/train.tsv", 60, 1);
  attune::testing::write_number_pairs(dir + "/valid.tsv", 8, 2);
  attune::testing::write_number_pairs(dir + "/test.tsv", 6, 3);
  return dir;
}

json mtp_config(const std::string& dir, const std::string& run, const std::vector<std::string>& extra) {
  json c = attune::translation::default_config();
  attune::config::apply_overrides(
      c, {"init=hf:" + kMarianFixture, "run_dir=" + dir + "/" + run, "device=cpu", "threads=1",
          "data.train=" + dir + "/train.tsv", "data.valid=" + dir + "/valid.tsv", "data.test=" + dir + "/test.tsv",
          "data.max_source_tokens=40", "data.max_target_tokens=40", "model.dropout=0.0", "train.epochs=2",
          "train.max_tokens=300", "train.lr=3e-3", "train.warmup_steps=2", "train.checkpoint_every=3",
          "train.eval_max_sentences=4", "decode.beam_size=2"});
  attune::config::apply_overrides(c, extra);
  return c;
}

attune::engine::TrainFlags mtp_quiet(std::ostringstream& log) {
  attune::engine::TrainFlags f;
  f.log = &log;
  return f;
}

std::string mtp_translate(const std::string& run_dir) {
  std::istringstream in("three one four\nnine two\n");
  std::ostringstream out;
  attune::translation::translate_run(run_dir, in, out, "cpu", {"decode.beam_size=1"});
  return out.str();
}

}  // namespace mtp

TEST_CASE("a LoRA translation run on transformers' MarianMTModel saves PEFT's adapter, resumes, merges, exports "
          "and converts",
          "[translation][peft][marian]") {
  using namespace mtp;
  namespace tr = attune::translation;
  if (!fs::is_directory(kMarianFixture)) {
    WARN("no " + kMarianFixture + ": skipped");
    return;
  }
  const std::string dir = mtp_data("translation-peft");
  std::ostringstream log;
  // target_modules unset: MarianMTModel's q_proj and v_proj (default_targets.h).
  const std::vector<std::string> lora = {"peft.method=lora", "peft.r=4"};
  attune::tasks::train(mtp_config(dir, "a", lora), mtp_quiet(log));
  INFO(log.str());
  const std::string run_dir = dir + "/a";
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "base_model.safetensors"}) {
    CHECK(fs::exists(fs::path(run_dir) / f));
  }
  CHECK_FALSE(fs::exists(fs::path(run_dir) / "model.safetensors"));
  CHECK(attune::io::read_json(run_dir + "/adapter_config.json")["target_modules"] == json({"q_proj", "v_proj"}));

  // Only the adapter trains: r * (32 + 32) on q_proj and v_proj of the encoder's 2 self
  // attentions and the decoder's 2 self and 2 cross attentions.
  tr::LoadedRun run = tr::load_run(run_dir, {}, "cpu");
  REQUIRE(run.peft);
  CHECK(run.peft->count().trainable == 6 * 2 * 4 * (32 + 32));
  // Every key is PEFT's for MarianMTModel: the adapted layer's name in the fixture's file.
  const auto fixture = attune::formats::load_safetensors(kMarianFixture + "/model.safetensors");
  const auto file = attune::formats::load_safetensors(run_dir + "/adapter_model.safetensors");
  const std::string prefix = "base_model.model.";
  for (const auto& key : file.names) {
    CAPTURE(key);
    REQUIRE(key.rfind(prefix, 0) == 0);
    std::string name = key.substr(prefix.size());
    for (const char* part : {".lora_A.", ".lora_B."}) {
      const size_t at = name.find(part);
      if (at != std::string::npos) name = name.substr(0, at) + ".weight";
    }
    CHECK(fixture.tensors.count(name));
  }
  CHECK(file.tensors.count("base_model.model.model.encoder.layers.0.self_attn.q_proj.lora_A.weight"));
  CHECK(file.tensors.count("base_model.model.model.decoder.layers.1.encoder_attn.v_proj.lora_B.weight"));
  const json config = attune::io::read_json(run_dir + "/adapter_config.json");
  CHECK(config["task_type"] == "SEQ_2_SEQ_LM");
  CHECK(config["peft_type"] == "LORA");

  // Resume: stopped mid-run, continued, the same adapter.
  auto flags = mtp_quiet(log);
  flags.stop_requested = [](int64_t step) { return step == 4; };
  attune::tasks::train(mtp_config(dir, "c", lora), flags);
  auto resume = mtp_quiet(log);
  resume.resume = true;
  attune::tasks::train(attune::io::read_json(dir + "/c/config.json"), resume);
  const auto c = attune::formats::load_safetensors(dir + "/c/adapter_model.safetensors");
  REQUIRE(c.names == file.names);
  for (const auto& name : file.names) {
    INFO(name);
    CHECK(torch::equal(file.tensors.at(name), c.tensors.at(name)));
  }

  // merge, export and --to-hf fold the adapter in: the same translations, the same logits.
  const std::string expected = mtp_translate(run_dir);
  tr::merge_run(run_dir, dir + "/merged", {});
  CHECK(mtp_translate(dir + "/merged") == expected);
  const json bundle = tr::export_run(run_dir, dir + "/bundle", false, false);
  CHECK(bundle["peft"] == json({{"method", "lora"}, {"merged", true}}));
  CHECK(bundle["check_max_abs_diff"].get<double>() < 1e-5);
  const json hf = tr::export_hf(run_dir, dir + "/hf");
  CHECK(hf["peft"] == json({{"method", "lora"}, {"merged", true}}));
  const auto merged = attune::formats::load_safetensors(dir + "/merged/model.safetensors");
  const auto converted = attune::formats::load_safetensors(dir + "/hf/model.safetensors");
  const std::string q = "model.encoder.layers.0.self_attn.q_proj.weight";
  CHECK(torch::allclose(converted.tensors.at(q), merged.tensors.at(q), 0, 1e-7));
  CHECK_FALSE(torch::allclose(converted.tensors.at(q), fixture.tensors.at(q)));

  // Refusals name the key or the file.
  CHECK(attune::testing::error_of([&] {
          attune::tasks::train(mtp_config(dir, "bad", {"peft.method=prefix_tuning"}), mtp_quiet(log));
        }).rfind("peft.method: prefix_tuning is not implemented for the encoder-decoder", 0) == 0);
  CHECK(attune::testing::error_of([&] {
          attune::tasks::train(mtp_config(dir, "bad2", {"peft.method=lora", "peft.target_modules=[\"query\",\"value\"]"}),
                               mtp_quiet(log));
        }).rfind("peft.target_modules: [\"query\",\"value\"] matches no linear layer of the model", 0) == 0);
  CHECK(attune::testing::error_of([&] { tr::evaluate_run(run_dir, dir + "/test.tsv", {}, "cpu", {dir + "/none"}); }) ==
        dir + "/none: not an adapter directory (no adapter_config.json)");
}
