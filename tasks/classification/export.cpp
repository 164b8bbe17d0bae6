#include "tasks/classification/export.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "data/text/tokenizer.h"
#include "models/bert/bert.h"
#include "models/deberta/deberta.h"
#include "models/modernbert/modernbert.h"
#include "models/script_text_encoder.h"
#include "models/common/parameters.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/hf_families.h"
#include "tasks/classification/task.h"
#include "core/config.h"
#include "tasks/engine/settings.h"

#include <filesystem>

namespace fs = std::filesystem;
using nlohmann::json;

namespace attune::classification {
namespace {

const char* kTask = "text-classification";

// config.json's model_type of the run's encoder, as transformers names the architecture:
// the BERT body's own, else its family's.
std::string model_type_of(const models::TextEncoderImpl& encoder, const std::string& model_name) {
  if (const auto* bert = dynamic_cast<const models::BertModelImpl*>(&encoder)) return bert->options().model_type();
  const hf::EncoderFamily* family = hf::family_named(model_name);
  return family != nullptr ? family->model_type : model_name;
}

// The exported module against the model it came from on a small random batch (with
// padding), so an export bug fails the export instead of a service later.
double self_check(TextClassifierImpl& model, torch::jit::Module& module, int64_t vocab_size, int64_t max_length) {
  torch::NoGradGuard no_grad;
  const bundle::ProbeBatch p = bundle::probe_batch(vocab_size, max_length);
  const int64_t c = model.encoder().context_size();
  // Raw context values, off the training set's scale, as predict gives them.
  const torch::Tensor context = c > 0 ? torch::arange(2 * c, torch::kFloat).view({2, c}) * 1.5 - 2.0 : torch::Tensor();
  const torch::Tensor expected = model.forward(p.ids, p.types, p.mask, context);
  std::vector<c10::IValue> inputs = {p.ids, p.mask, p.types};
  if (c > 0) inputs.emplace_back(context);
  const torch::Tensor got = module.forward(std::move(inputs)).toTensor();
  return (got - expected).abs().max().item<double>();
}

// The manifest's description of token_type_ids. DistilBERT has no token type embeddings,
// nor ModernBERT, nor DeBERTa-v3; their bundles take and ignore them.
std::string token_types_note(const models::TextEncoderImpl& encoder, const std::string& model_type) {
  const auto* bert = dynamic_cast<const models::BertModelImpl*>(&encoder);
  const auto* deberta = dynamic_cast<const models::DebertaV2ModelImpl*>(&encoder);
  const bool ignored = (bert != nullptr && !bert->embeddings->token_type_embeddings) ||
                       dynamic_cast<const models::ModernBertModelImpl*>(&encoder) != nullptr ||
                       (deberta != nullptr && deberta->options().type_vocab_size() == 0);
  if (ignored) return "ignored: model_type " + model_type + " has no token types";
  return "0 = first text, 1 = second text of a pair; zeros when omitted";
}

}  // namespace

torch::jit::Module script_classifier(TextClassifierImpl& model, bundle::Precision precision) {
  script::ClassNames names;
  names.dynamic_int8 = precision == bundle::Precision::kInt8Dynamic;
  torch::jit::Module encoder = models::script_text_encoder(model.encoder(), names);
  const bool pools = encoder.find_method("pool").has_value();
  script::ScriptModuleBuilder b(names, "TextClassifier");
  const std::string enc = b.submodule("encoder", encoder);
  const bool with_context = model.encoder().context_size() > 0;
  std::string s =
      std::string("def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None") +
      (with_context ? ", context: Optional[Tensor]=None" : "") + ") -> Tensor:\n";
  if (with_context) {
    // TextClassifierImpl::forward standardises the raw context values by the training set's,
    // then they enter the encoder in its dtype (type_as: bfloat16 bundles).
    const std::string mean = b.tensor("context_mean", model.context_mean, false);
    s += "    standard: Optional[Tensor] = None\n"
         "    if context is not None:\n"
         "        standard = ((context.float() - " + mean + ") / " + b.tensor("context_std", model.context_std, false) +
         ").type_as(" + mean + ")\n"
         "    hidden = " + enc + ".forward(input_ids, attention_mask, token_type_ids, standard)\n";
  } else {
    s += "    hidden = " + enc + ".forward(input_ids, attention_mask, token_type_ids)\n";
  }
  if (model.options().pooling() == "cls") {
    TORCH_CHECK(pools, "cls pooling needs an encoder with a pooler");
    s += "    pooled = " + enc + ".pool(hidden, attention_mask)\n";
  } else if (model.options().pooling() == "attention") {
    // TextClassifierImpl's soft attention pooling.
    const std::string query = b.tensor("attention_query", model.attention_query);
    s += "    scores = torch.matmul(hidden.float(), " + query + ".float()) / " + script::float_literal(model.options().temperature()) + "\n"
         "    scores = scores.masked_fill(attention_mask == 0, -1e9)\n"
         "    weights = torch.softmax(scores, 1)\n"
         "    pooled = torch.matmul(weights.unsqueeze(1).to(hidden.dtype), hidden).squeeze(1)\n";
  } else {
    // TextClassifierImpl's masked mean over the real tokens.
    s += "    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)\n"
         "    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)\n";
  }
  // The head's dropout is the identity in eval mode. Logits leave as float32 whatever the
  // module's dtype (.float() of a float32 tensor is itself).
  s += "    return " + b.linear(model.classifier(), "classifier", "pooled") + ".float()\n";
  torch::jit::Module module = b.build(s);
  if (precision == bundle::Precision::kBFloat16) script::to_bfloat16(module);
  return module;
}

ScriptedRun script_run_model(RunModel& run, bundle::Precision precision) {
  ScriptedRun out;
  out.peft = run.peft ? run.peft->merge_for_export() : nlohmann::json{{"method", nullptr}, {"merged", false}};
  run.model->eval();
  out.module = script_classifier(*run.model, precision);
  return out;
}

json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite, bundle::Precision precision,
                bool adapter_base) {
  const bool int8 = precision == bundle::Precision::kInt8Dynamic;
  const std::string dtype = bundle::precision_name(precision);
  if (adapter_base && precision != bundle::Precision::kFloat32) {
    fail("--adapter-base", std::string("adapters are served on a float32 base; leave out ") + (int8 ? "--int8" : "--bf16"));
  }
  // The export runs on the CPU: bundles are device-neutral (torch::jit::load places them).
  LoadedRun run = load_run(run_dir, {}, "cpu");
  const int64_t context_size = run.model.model->encoder().context_size();
  if (adapter_base && context_size > 0) {
    fail(run_dir, "export --adapter-base: this run's attention reads context columns, which served adapters do not "
                  "take yet; export without --adapter-base");
  }
  const std::string engine = int8 ? script::use_int8_engine() : "";
  ScriptedRun scripted;
  if (adapter_base && run.model.peft) {
    // The base alone: the run's own adapter is served beside the others (--adapter NAME=RUN_DIR).
    run.model.peft->set_active("");
    run.model.model->eval();
    scripted.module = script_classifier(*run.model.model);
    scripted.peft = {{"method", nullptr}, {"merged", false}};
  } else {
    scripted = script_run_model(run.model, precision);
  }
  const double max_diff =
      self_check(*run.model.model, scripted.module, run.tokenizer->vocab_size(), run.max_length);
  // int8 and bfloat16 change the numbers by design (their accuracy is measured by
  // tools/bench/precision_bench.sh).
  TORCH_CHECK(precision != bundle::Precision::kFloat32 || max_diff < 1e-4,
              "export: the scripted model differs from the run's by ", max_diff);

  const ColumnSpec columns = column_spec(run.config, false);
  const int64_t parameters = models::parameter_count(*run.model.model);
  const int64_t num_labels = static_cast<int64_t>(run.labels.size());
  const json shape = {"batch", "length"};
  json manifest = bundle::base_manifest(kTask);
  manifest["model"] = {{"file", bundle::kModel}, {"format", "torchscript"}, {"method", "forward"},
                       {"dtype", dtype}, {"encoder", run.config.at("model").value("name", "")},
                       {"parameters", parameters}};
  const std::string model_type = model_type_of(run.model.model->encoder(), run.config.at("model").value("name", ""));
  manifest["model"]["model_type"] = model_type;
  manifest["inputs"] = json::array({
      {{"name", "input_ids"}, {"dtype", "int64"}, {"shape", shape}},
      {{"name", "attention_mask"}, {"dtype", "int64"}, {"shape", shape}, {"values", "1 = token, 0 = padding"}},
      {{"name", "token_type_ids"}, {"dtype", "int64"}, {"shape", shape}, {"optional", true},
       {"values", token_types_note(run.model.model->encoder(), model_type)}},
  });
  if (context_size > 0) {
    manifest["inputs"].push_back({{"name", "context"}, {"dtype", "float32"}, {"shape", {"batch", context_size}},
                                  {"values", "the context columns' raw values in text.context_columns order; "
                                             "the model standardises them"}});
  }
  manifest["outputs"] = json::array({{{"name", "logits"}, {"dtype", "float32"}, {"shape", {"batch", num_labels}}}});
  manifest["labels"] = run.labels;
  manifest["max_length"] = run.max_length;
  manifest["text"] = {{"text_column", columns.text},
                      {"text_pair_column", columns.text_pair.empty() ? json() : json(columns.text_pair)},
                      {"context_columns", columns.context}};
  manifest["tokenizer"] = bundle::tokenizer_manifest(*run.tokenizer, run_dir);
  manifest["pooling"] = run.model.model->options().pooling();
  manifest["peft"] = scripted.peft;
  if (int8) manifest["model"]["quantized_engine"] = engine;
  const char* kBaseWeights = "base_model.safetensors";
  if (adapter_base) manifest["adapter_base"] = {{"file", kBaseWeights}, {"dtype", "float32"}, {"names", "attune"}};

  if (!adapter_base) {
    bundle::write_run_bundle(out_dir, overwrite, manifest, scripted.module, run_dir);
  } else {
    bundle::write_bundle(out_dir, overwrite, manifest, [&](const std::string& dir) {
      scripted.module.save((fs::path(dir) / bundle::kModel).string());
      const engine::RunDir from(run_dir), to(dir);
      fs::copy(from.tokenizer(), to.tokenizer(), fs::copy_options::recursive);
      fs::copy_file(from.config(), to.config());
      const std::string weights = (fs::path(dir) / kBaseWeights).string();
      if (run.model.peft) {
        fs::copy_file(from.base_weights(), weights);  // the frozen base, as the run loaded it
      } else {
        formats::save_safetensors(weights, formats::module_tensors(*run.model.model));
      }
    });
  }
  json summary = {{"run_dir", run_dir}, {"bundle", out_dir}, {"task", kTask}, {"parameters", parameters},
                  {"pooling", manifest["pooling"]}, {"peft", scripted.peft}, {"labels", run.labels},
                  {"torch_version", bundle::torch_version()}, {"check_max_abs_diff", max_diff},
                  {"dtype", dtype}};
  summary.update(bundle::files_summary(out_dir));
  return summary;
}

namespace {

// What predicting from a classification bundle needs, checked and on its device.
struct ClassifierBundle {
  bundle::Bundle b;
  std::string manifest;
  std::vector<std::string> labels;
  int64_t max_length = 0;
  std::unique_ptr<text::Tokenizer> tokenizer;
  ColumnSpec columns;
  torch::Device device = torch::kCPU;

  torch::Tensor logits(const data::TokenBatch& tb) {
    std::vector<c10::IValue> inputs = {tb.input_ids.to(device), tb.attention_mask.to(device),
                                       tb.token_type_ids.to(device)};
    if (tb.context.defined()) inputs.emplace_back(tb.context.to(device));
    const torch::Tensor out = bundle::forward(b, std::move(inputs));
    if (out.dim() != 2 || out.size(1) != static_cast<int64_t>(labels.size())) {
      fail(manifest, "lists " + std::to_string(labels.size()) + " labels but the model gives logits of shape " +
                         c10::str(out.sizes()));
    }
    return out;
  }
};

std::shared_ptr<ClassifierBundle> load_classifier_bundle(const std::string& bundle_dir, const std::string& device) {
  auto cb = std::make_shared<ClassifierBundle>();
  cb->b = bundle::load_bundle(bundle_dir, kTask);
  cb->manifest = (fs::path(bundle_dir) / bundle::kManifest).string();
  std::string tokenizer_dir;
  try {
    cb->labels = bundle::manifest_key(cb->b, "labels").get<std::vector<std::string>>();
    cb->max_length = bundle::manifest_key(cb->b, "max_length").get<int64_t>();
    tokenizer_dir = bundle::manifest_key(cb->b, "tokenizer").value("dir", "tokenizer");
  } catch (const nlohmann::json::exception& e) {
    fail(cb->manifest, std::string("invalid value: ") + e.what());
  }
  if (cb->labels.empty()) fail(cb->manifest, "labels is empty");
  cb->tokenizer = text::load_tokenizer(bundle::bundle_path(cb->b, tokenizer_dir, "tokenizer.dir"));
  cb->columns = column_spec(cb->b.config, false);
  cb->device = bundle::place_bundle(cb->b, device);
  return cb;
}

}  // namespace

void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size) {
  const auto cb = load_classifier_bundle(bundle_dir, device);
  predict_lines(in, input_name, out, cb->columns, *cb->tokenizer, cb->max_length, cb->labels, batch_size,
                [&](const data::TokenBatch& tb) { return cb->logits(tb); });
}

serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size) {
  const std::shared_ptr<ClassifierBundle> cb = load_classifier_bundle(bundle_dir, device);
  serving::Predictor p;
  p.task = kTask;
  p.info = {{"labels", cb->labels}, {"max_length", cb->max_length}, {"text_column", cb->columns.text},
            {"device", cb->device.str()}};
  p.check = [cb](const json& input, const std::string& where) {
    Examples probe;
    add_input(probe, input, cb->columns, where);
  };
  p.run = [cb, batch_size](const std::vector<json>& inputs) {
    torch::NoGradGuard no_grad;
    Examples chunk;
    for (size_t i = 0; i < inputs.size(); ++i) add_input(chunk, inputs[i], cb->columns, "inputs[" + std::to_string(i) + "]");
    tokenize(chunk, *cb->tokenizer, cb->max_length);
    const torch::Tensor probs = predict_probabilities(chunk, cb->tokenizer->pad_id(), batch_size,
                                                      [&](const data::TokenBatch& tb) { return cb->logits(tb); });
    return prediction_rows(probs, cb->labels);
  };
  return p;
}

}  // namespace attune::classification
