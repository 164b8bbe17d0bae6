#include "tasks/pretraining/export.h"

#include "core/error.h"
#include "models/bert/masked_lm_script.h"
#include "models/deberta/masked_lm_script.h"
#include "models/modernbert/masked_lm_script.h"
#include "models/common/parameters.h"
#include "tasks/bundle/bundle.h"
#include "tasks/pretraining/fill_mask.h"
#include "tasks/pretraining/task.h"

#include <torch/script.h>

#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;
using nlohmann::json;

namespace attune::pretraining {
namespace {

const char* kMlmTask = "mlm";
const char* kLogitsAt = "logits_at";

// Both methods of the script against the model on a small fixed batch with padding, so
// an export bug fails the export instead of a service later.
double self_check(models::MaskedLanguageModelImpl& model, torch::jit::Module& module, int64_t vocab_size,
                  int64_t max_length) {
  torch::NoGradGuard no_grad;
  const bundle::ProbeBatch p = bundle::probe_batch(vocab_size, max_length);
  const torch::Tensor positions = torch::tensor({int64_t{1}, p.ids.size(1) + 2});
  const torch::Tensor all = module.forward({p.ids, p.mask, p.types}).toTensor();
  const torch::Tensor some = module.get_method(kLogitsAt)({p.ids, p.mask, positions, p.types}).toTensor();
  return std::max((all - model.logits(p.ids, p.types, p.mask, {})).abs().max().item<double>(),
                  (some - model.logits(p.ids, p.types, p.mask, positions)).abs().max().item<double>());
}

// The family's script, and what its manifest says of it: transformers' model_type and
// whether token_type_ids mean anything.
struct ScriptedMlm {
  torch::jit::Module module;
  std::string model_type;
  bool token_types = false;
};

ScriptedMlm script_run_model(models::MaskedLanguageModelImpl& model) {
  script::ClassNames names;
  if (auto* bert = dynamic_cast<models::BertForMaskedLMImpl*>(&model)) {
    return {models::script_masked_lm(*bert, names), bert->bert->options().model_type(),
            static_cast<bool>(bert->bert->embeddings->token_type_embeddings)};
  }
  if (auto* modern = dynamic_cast<models::ModernBertForMaskedLMImpl*>(&model)) {
    return {models::script_modernbert_masked_lm(*modern, names), "modernbert", false};
  }
  if (auto* deberta = dynamic_cast<models::DebertaV2ForMaskedLMImpl*>(&model)) {
    return {models::script_deberta_masked_lm(*deberta, names), "deberta-v2",
            deberta->deberta->options().type_vocab_size() > 0};
  }
  // models::make_masked_lm builds only the three above.
  throw std::logic_error("export: no script for this masked LM");
}

}  // namespace

json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite) {
  // The export runs on the CPU: bundles are device-neutral (torch::jit::load places them).
  LoadedMlm run = load_run(run_dir, {}, "cpu");
  ScriptedMlm scripted = script_run_model(*run.model);
  torch::jit::Module& module = scripted.module;
  const int64_t vocab = run.tokenizer->vocab_size(), max_length = run.typed.mlm.max_length;
  const double max_diff = self_check(*run.model, module, vocab, max_length);
  TORCH_CHECK(max_diff < 1e-4, "export: the scripted model differs from the run's by ", max_diff);

  const int64_t parameters = models::parameter_count(*run.model);
  const json shape = {"batch", "length"};
  json manifest = bundle::base_manifest(kMlmTask);
  const std::string& model_type = scripted.model_type;
  manifest["model"] = {{"file", bundle::kModel}, {"format", "torchscript"}, {"dtype", "float32"},
                       {"methods", {"forward", kLogitsAt}}, {"parameters", parameters}, {"vocab_size", vocab},
                       {"model_type", model_type}};
  manifest["inputs"] = json::array({
      {{"name", "input_ids"}, {"dtype", "int64"}, {"shape", shape}},
      {{"name", "attention_mask"}, {"dtype", "int64"}, {"shape", shape}, {"values", "1 = token, 0 = padding"}},
      {{"name", "positions"}, {"dtype", "int64"}, {"shape", {"positions"}}, {"method", kLogitsAt},
       {"values", "indices into the flattened (batch * length) tokens"}},
      {{"name", "token_type_ids"}, {"dtype", "int64"}, {"shape", shape}, {"optional", true},
       {"values",
        scripted.token_types ? "zeros when omitted" : "ignored: model_type " + model_type + " has no token types"}},
  });
  manifest["outputs"] = json::array({
      {{"name", "logits"}, {"dtype", "float32"}, {"shape", {"batch", "length", vocab}}, {"method", "forward"}},
      {{"name", "logits"}, {"dtype", "float32"}, {"shape", {"positions", vocab}}, {"method", kLogitsAt}},
  });
  manifest["usage"] = "input_ids: [CLS] pieces [SEP] with mask_id at each masked position; softmax of a position's "
                      "logits ranks the vocabulary for it";
  manifest["max_length"] = max_length;
  manifest["mask_token"] = kMaskToken;
  manifest["candidates"] = kFillMaskCandidates;
  manifest["tokenizer"] = bundle::tokenizer_manifest(*run.tokenizer, run_dir);
  manifest["tokenizer"]["mask_id"] = run.tokenizer->mask_id();

  bundle::write_run_bundle(out_dir, overwrite, manifest, module, run_dir);
  json summary = {{"run_dir", run_dir}, {"bundle", out_dir}, {"task", kMlmTask}, {"parameters", parameters},
                  {"torch_version", bundle::torch_version()}, {"check_max_abs_diff", max_diff}, {"dtype", "float32"}};
  summary.update(bundle::files_summary(out_dir));
  return summary;
}

namespace {

// What fill-mask from a bundle needs, checked and on its device.
struct MlmBundle {
  bundle::Bundle b;
  std::unique_ptr<text::Tokenizer> tokenizer;
  int64_t max_length = 0;
  torch::Device device = torch::kCPU;

  // MaskLogits over the module: one unpadded sequence, as predict_run gives the model.
  torch::Tensor logits(const torch::Tensor& ids, const torch::Tensor& positions) {
    const torch::Tensor on = ids.to(device);
    return b.module.get_method(kLogitsAt)({on, torch::ones_like(on), positions.to(device)}).toTensor();
  }
};

std::shared_ptr<MlmBundle> load_mlm_bundle(const std::string& bundle_dir, const std::string& device) {
  auto mb = std::make_shared<MlmBundle>();
  mb->b = bundle::load_bundle(bundle_dir, kMlmTask);
  const std::string manifest = (fs::path(bundle_dir) / bundle::kManifest).string();
  std::string tokenizer_dir;
  try {
    mb->max_length = bundle::manifest_key(mb->b, "max_length").get<int64_t>();
    tokenizer_dir = bundle::manifest_key(mb->b, "tokenizer").value("dir", "tokenizer");
  } catch (const json::exception& e) {
    fail(manifest, std::string("invalid value: ") + e.what());
  }
  if (!mb->b.module.find_method(kLogitsAt)) {
    fail(bundle::bundle_path(mb->b, bundle::kModel, "model.file"), std::string("has no method ") + kLogitsAt);
  }
  mb->tokenizer = text::load_tokenizer(bundle::bundle_path(mb->b, tokenizer_dir, "tokenizer.dir"));
  mb->device = bundle::place_bundle(mb->b, device);
  return mb;
}

}  // namespace

void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device) {
  const auto mb = load_mlm_bundle(bundle_dir, device);
  fill_mask_lines(in, input_name, out, *mb->tokenizer, mb->max_length,
                  [&](const torch::Tensor& ids, const torch::Tensor& positions) { return mb->logits(ids, positions); });
}

serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device) {
  const std::shared_ptr<MlmBundle> mb = load_mlm_bundle(bundle_dir, device);
  serving::Predictor p;
  p.task = kMlmTask;
  p.info = {{"max_length", mb->max_length}, {"mask_token", kMaskToken}, {"candidates", kFillMaskCandidates},
            {"device", mb->device.str()}};
  const auto encode = [mb](const json& input, const std::string& where) {
    if (!input.is_string()) {
      fail(where, std::string("expected a text with ") + kMaskToken + " (a string), got " + input.type_name());
    }
    MaskedText masked = encode_masked(input.get<std::string>(), *mb->tokenizer, mb->max_length, where);
    if (masked.masks.empty()) fail(where, std::string("no ") + kMaskToken + " in the text: nothing to fill in");
    return masked;
  };
  p.check = [encode](const json& input, const std::string& where) { encode(input, where); };
  // One text a forward pass, as predict: the answers are predict's, number for number.
  p.run = [mb, encode](const std::vector<json>& inputs) {
    torch::NoGradGuard no_grad;
    std::vector<json> out;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const MaskedText masked = encode(inputs[i], "inputs[" + std::to_string(i) + "]");
      const torch::Tensor logits = mb->logits(torch::tensor(masked.ids).unsqueeze(0), torch::tensor(masked.masks));
      out.push_back({{"text", inputs[i]}, {"masks", mask_candidates(logits, *mb->tokenizer, /*with_ids=*/true)}});
    }
    return out;
  };
  return p;
}

}  // namespace attune::pretraining
