// MarianMTModel folders (models/seq2seq/hf_marian.h): attune's model written with
// write_hf_marian reads back to the same options and outputs (shared and separate
// embeddings, tied and untied output); what transformers' Marian computes and attune's
// model cannot fails with one line naming the file and key; and the transformers-made
// fixtures of tests/fixtures/marian (tools/parity/make_marian_fixtures.py) give
// transformers' encoder outputs and logits to 1e-5.
#include "tests/catch.h"

#include "core/files.h"
#include "models/seq2seq/hf_marian.h"
#include "tests/common/errors.h"
#include "tests/common/marian_folder.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using attune::testing::error_of;
using namespace attune;

namespace {

models::Seq2SeqOptions small_options(bool share, bool tie) {
  return models::Seq2SeqOptions(37).d_model(16).encoder_layers(1).decoder_layers(2).num_heads(4).ffn_dim(24)
      .activation("swish").max_positions(32).scale_embedding(true).dropout(0.0).share_embeddings(share)
      .tie_output(tie).pad_id(36);
}

torch::Tensor logits_of(models::Seq2SeqTransformer& model) {
  torch::NoGradGuard no_grad;
  model->eval();
  const torch::Tensor src = torch::tensor({{5, 9, 12, 0, 36}, {7, 8, 0, 36, 36}});
  const torch::Tensor tgt = torch::tensor({{36, 4, 11, 3}, {36, 6, 2, 2}});
  return model->forward(src, tgt);
}

std::string written(models::Seq2SeqTransformer& model, const std::string& name) {
  const std::string dir = testing::temp_dir(name);
  models::write_hf_marian(dir, *model, /*eos_id=*/0);
  return dir;
}

void edit_config(const std::string& dir, const nlohmann::json& patch) {
  nlohmann::json c = io::read_json(dir + "/config.json");
  c.merge_patch(patch);
  std::ofstream(dir + "/config.json") << c.dump();
}

}  // namespace

TEST_CASE("write_hf_marian and read_hf_marian round-trip options and outputs", "[marian]") {
  for (const auto& [share, tie] : std::vector<std::pair<bool, bool>>{{true, true}, {false, true}, {false, false}}) {
    INFO("share " << share << " tie " << tie);
    torch::manual_seed(3);
    models::Seq2SeqTransformer model(small_options(share, tie));
    {
      torch::NoGradGuard no_grad;
      model->final_logits_bias.normal_(0.0, 1.0);
    }
    const std::string dir = written(model, "marian-roundtrip");
    const nlohmann::json config = io::read_json(dir + "/config.json");
    CHECK(config["model_type"] == "marian");
    CHECK(config["share_encoder_decoder_embeddings"] == share);
    CHECK(config["decoder_start_token_id"] == 36);
    const models::MarianCheckpoint ck = models::read_hf_marian(dir);
    const models::Seq2SeqOptions& o = ck.options;
    CHECK(o.d_model() == 16);
    CHECK(o.encoder_layers() == 1);
    CHECK(o.decoder_layers() == 2);
    CHECK(o.activation() == "swish");
    CHECK(o.share_embeddings() == share);
    CHECK(o.tie_output() == tie);
    CHECK(o.scale_embedding());
    CHECK(o.pad_id() == 36);
    CHECK(ck.eos_id == 0);
    torch::manual_seed(99);  // other random weights, all overwritten
    models::Seq2SeqTransformer loaded(o);
    formats::load_module_tensors(*loaded, ck.tensors, ck.file);
    CHECK(torch::equal(logits_of(loaded), logits_of(model)));
  }
}

TEST_CASE("read_hf_marian takes shared embeddings saved under any of transformers' names", "[marian]") {
  torch::manual_seed(4);
  models::Seq2SeqTransformer model(small_options(true, true));
  const std::string dir = written(model, "marian-renamed");
  formats::SafetensorsFile file = formats::load_safetensors(dir + "/model.safetensors");
  formats::NamedTensors renamed;
  for (const auto& name : file.names) {
    // transformers may keep the decoder's copy of a tied embedding and drop the rest.
    if (name == "model.shared.weight") renamed.emplace_back("model.decoder.embed_tokens.weight", file.tensors[name]);
    else if (name.find("embed_positions") == std::string::npos) renamed.emplace_back(name, file.tensors[name]);
  }
  formats::save_safetensors(dir + "/model.safetensors", renamed);
  const models::MarianCheckpoint ck = models::read_hf_marian(dir);
  models::Seq2SeqTransformer loaded(ck.options);
  formats::load_module_tensors(*loaded, ck.tensors, ck.file);
  CHECK(torch::equal(logits_of(loaded), logits_of(model)));
}

TEST_CASE("read_hf_marian refuses what attune's model cannot compute, naming file and key", "[marian]") {
  torch::manual_seed(5);
  models::Seq2SeqTransformer model(small_options(true, true));
  const std::string base = written(model, "marian-refusals");
  auto variant = [&](const std::string& name, const nlohmann::json& patch) {
    const std::string dir = testing::temp_dir(name);
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(base + "/" + f, dir + "/" + f);
    edit_config(dir, patch);
    return error_of([&] { models::read_hf_marian(dir); });
  };
  const auto cfg = [](const std::string& name) {
    return (fs::temp_directory_path() / ("attune-test-" + name) / "config.json").string();
  };
  CHECK(variant("marian-bert", {{"model_type", "bert"}}) == cfg("marian-bert") + ".model_type: expected \"marian\", got \"bert\"");
  CHECK(variant("marian-mish", {{"activation_function", "mish"}}).find(cfg("marian-mish") + ".activation_function: unknown activation 'mish'") == 0);
  CHECK(variant("marian-preln", {{"normalize_before", true}}) ==
        cfg("marian-preln") + ".normalize_before: pre-LN layers are not what MarianMTModel computes (post-LN); not supported");
  CHECK(variant("marian-heads", {{"decoder_attention_heads", 2}}) ==
        cfg("marian-heads") + ".decoder_attention_heads: 2 differs from encoder_attention_heads 4; attune's stacks share one value");
  CHECK(variant("marian-vocab", {{"decoder_vocab_size", 40}}).find(cfg("marian-vocab") + ".decoder_vocab_size: 40 differs from vocab_size 37") == 0);
  CHECK(variant("marian-start", {{"decoder_start_token_id", 0}}).find(cfg("marian-start") + ".decoder_start_token_id: 0 is not pad_token_id 36") == 0);
  CHECK(variant("marian-width", {{"d_model", 32}}).find("model.safetensors: tensor 'model.shared.weight' has shape [37, 16], config.json gives [37, 32]") != std::string::npos);
  CHECK(variant("marian-unshared", {{"share_encoder_decoder_embeddings", false}, {"tie_word_embeddings", false}})
            .find("model.safetensors: no tensor 'lm_head.weight'") != std::string::npos);

  const std::string extra = testing::temp_dir("marian-extra");
  fs::copy_file(base + "/config.json", extra + "/config.json");
  formats::NamedTensors tensors = formats::module_tensors(*model);
  tensors.emplace_back("model.encoder.layernorm_embedding.weight", torch::ones({16}));
  formats::save_safetensors(extra + "/model.safetensors", tensors);
  CHECK(error_of([&] { models::read_hf_marian(extra); }) ==
        extra + "/model.safetensors: unexpected tensor 'model.encoder.layernorm_embedding.weight' (not part of this MarianMTModel)");
  const std::string empty = testing::temp_dir("marian-no-weights");
  fs::copy_file(base + "/config.json", empty + "/config.json");
  CHECK(error_of([&] { models::read_hf_marian(empty); }) ==
        empty + ": no model.safetensors");
  CHECK(error_of([&] { models::read_hf_marian(empty + "/nowhere"); }) ==
        empty + "/nowhere: not a directory (expected a Hugging Face MarianMTModel folder)");
}

TEST_CASE("transformers' MarianMTModel encoder outputs and logits to 1e-5", "[marian][fixtures]") {
  for (const std::string& dir : testing::marian_fixture_dirs()) {
    INFO(dir);
    models::Seq2SeqTransformer model = testing::load_marian_model(dir);
    formats::SafetensorsFile expected = formats::load_safetensors(dir + "/expected.safetensors");
    torch::NoGradGuard no_grad;
    const torch::Tensor src = expected.tensors["src"].to(torch::kLong);
    const models::EncodedSource encoded = model->encode(src);
    const torch::Tensor logits = model->project(model->decode(expected.tensors["tgt_in"].to(torch::kLong), encoded));
    CHECK((encoded.memory - expected.tensors["encoder"]).abs().max().item<double>() <= 1e-5);
    CHECK((logits - expected.tensors["logits"]).abs().max().item<double>() <= 1e-5);
  }
}
