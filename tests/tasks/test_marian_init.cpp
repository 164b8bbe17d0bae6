// The translation task's init=hf:DIR (tasks/translation/init.h): the run config takes the
// folder's model section, refusals name the file and key; and greedy decoding of the
// transformers-made fixtures (tests/fixtures/marian) gives transformers' tokens.
#include "tests/catch.h"

#include "core/files.h"
#include "tasks/translation/config.h"
#include "tasks/translation/decoding.h"
#include "tasks/translation/init.h"
#include "tests/common/errors.h"
#include "tests/common/marian_folder.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using attune::testing::error_of;
using namespace attune;

TEST_CASE("init=hf:DIR writes the Marian folder's model section into the run config", "[marian][translation]") {
  const std::string dir = testing::write_marian_folder("marian-init", testing::tiny_marian_options());
  nlohmann::json config = translation::default_config();
  config["model"]["dropout"] = 0.3;
  config["data"]["max_source_tokens"] = 40;  // within the folder's 64 positions
  config["data"]["max_target_tokens"] = 40;
  std::ostringstream log;
  const translation::MarianInit init = translation::apply_init(config, "hf:" + dir, log);
  CHECK(config["model"]["d_model"] == 16);
  CHECK(config["model"]["decoder_layers"] == 2);
  CHECK(config["model"]["activation"] == "swish");
  CHECK(config["model"]["preset"].is_null());
  CHECK(config["model"]["dropout"] == 0.3);  // the user's
  CHECK(config["model"]["attention_dropout"] == 0.0);
  CHECK(init.tokenizer->vocab_size() == init.checkpoint.options.vocab_size());
  CHECK(log.str().find("init: MarianMTModel from " + dir + " (1+2 layers, width 16") != std::string::npos);
  // The config parses, and the model it describes takes the checkpoint's tensors.
  const translation::Config typed = translation::parse_config(config);
  models::Seq2SeqTransformer model(models::seq2seq_options(typed.model, init.tokenizer->vocab_size(),
                                                           init.tokenizer->pad_id(), "model"));
  formats::load_module_tensors(*model, init.checkpoint.tensors, init.checkpoint.file);

  CHECK(error_of([&] { translation::apply_init(config, "timm:" + dir, log); }) ==
        "init: expected hf:DIR (a transformers MarianMTModel folder), got 'timm:" + dir + "'");
  nlohmann::json vocab = io::read_json(dir + "/vocab.json");
  vocab["<extra>"] = vocab.size();
  std::ofstream(dir + "/vocab.json") << vocab.dump();
  CHECK(error_of([&] { translation::apply_init(config, "hf:" + dir, log); })
            .find(dir + "/vocab.json: has " + std::to_string(vocab.size()) + " tokens but " + dir +
                  "/config.json vocab_size is") == 0);
}

TEST_CASE("greedy decoding of the Marian fixtures gives transformers' tokens", "[marian][translation][fixtures]") {
  for (const std::string& dir : testing::marian_fixture_dirs()) {
    INFO(dir);
    models::MarianCheckpoint ck;
    models::Seq2SeqTransformer model = testing::load_marian_model(dir, &ck);
    const nlohmann::json expected = io::read_json(dir + "/expected.json");
    const torch::Tensor src = formats::load_safetensors(dir + "/expected.safetensors").tensors["src"].to(torch::kLong);
    translation::DecodeOptions o;
    o.bos_id = ck.options.pad_id();
    o.pad_id = ck.options.pad_id();
    o.eos_id = ck.eos_id;
    o.max_length_ratio = 0.0;
    o.max_length_extra = 12;  // generate(max_new_tokens=12)
    torch::NoGradGuard no_grad;
    CHECK(translation::greedy_search(model, src, o) == expected["greedy"].get<std::vector<std::vector<int64_t>>>());
  }
}
