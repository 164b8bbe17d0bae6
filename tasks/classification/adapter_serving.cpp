#include "tasks/classification/adapter_serving.h"

#include "core/error.h"
#include "core/files.h"
#include "data/batching.h"
#include "data/formats/safetensors.h"
#include "data/text/tokenizer.h"
#include "models/peft/mixed_batch.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/task.h"
#include "tasks/engine/run_dir.h"
#include "tasks/engine/settings.h"
#include "tasks/engine/train_config.h"

#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace attune::classification {
namespace {

struct AdapterHost {
  Config config;
  std::vector<std::string> labels;
  int64_t max_length = 0;
  std::unique_ptr<text::Tokenizer> tokenizer;
  ColumnSpec columns;
  TextClassifier model{nullptr};
  std::unique_ptr<peft::MixedBatchModel> mixed;
  torch::Device device = torch::kCPU;

  TextClassifier build() const {
    Config base = config;
    base.peft = json{{"method", nullptr}};
    return build_run_model(base, tokenizer->vocab_size(), static_cast<int64_t>(labels.size())).model;
  }

  // An attune PEFT run directory keeps the base it was trained on: every tensor the
  // adapter does not replace must be the served base's, or its updates would be applied
  // to weights they were not trained for (same shapes, wrong numbers).
  void check_base(const std::string& dir, const peft::ServedAdapter& adapter) const {
    const std::string path = engine::RunDir(dir).base_weights();
    if (!fs::exists(path)) return;  // a bare PEFT adapter folder: only shapes can be checked
    const formats::SafetensorsFile file = formats::load_safetensors(path);
    const std::vector<std::string> replaced = mixed->replaced_tensors(adapter);
    const std::set<std::string> skip(replaced.begin(), replaced.end());
    for (const auto& [name, tensor] : formats::module_tensors(*model)) {
      if (skip.count(name)) continue;
      const auto it = file.tensors.find(name);
      if (it == file.tensors.end()) fail(path, "has no tensor '" + name + "': the adapter was trained on another base model");
      const torch::Tensor served = tensor.detach().to(torch::kCPU, torch::kFloat);
      const torch::Tensor trained = it->second.to(torch::kFloat);
      if (served.sizes() != trained.sizes() || !torch::allclose(served, trained, 1e-6, 1e-6)) {
        fail(path, "tensor '" + name + "' differs from the served base's: the adapter was trained on another base model");
      }
    }
  }

  serving::LoadedAdapter load(const std::string& dir, const std::string& name) const {
    std::shared_ptr<peft::ServedAdapter> adapter = mixed->load(dir, name, build().ptr());
    check_base(dir, *adapter);
    // A run directory names its labels; a bare adapter folder takes the base's.
    std::vector<std::string> adapter_labels = labels;
    const std::string labels_path = engine::RunDir(dir).labels();
    if (fs::exists(labels_path)) {
      adapter_labels = load_label_map(labels_path);
      if (adapter_labels.size() != labels.size()) {
        fail(labels_path, "has " + std::to_string(adapter_labels.size()) + " labels, the base " +
                              std::to_string(labels.size()));
      }
    }
    adapter->extra = {{"labels", adapter_labels}};
    serving::LoadedAdapter loaded;
    loaded.info = {{"method", adapter->method},
                   {"rank", adapter->method == "lora" ? json(adapter->rank) : json()},
                   {"rslora", adapter->rslora},
                   {"bytes", adapter->bytes},
                   {"labels", adapter_labels}};
    loaded.handle = std::shared_ptr<const peft::ServedAdapter>(std::move(adapter));
    return loaded;
  }

  std::vector<json> run(const std::vector<json>& inputs, const std::vector<serving::Route>& routes) {
    // One forward for the whole batch: it is at most --max-batch inputs, or one request.
    torch::NoGradGuard no_grad;
    Examples chunk;
    for (size_t i = 0; i < inputs.size(); ++i) add_input(chunk, inputs[i], columns, "inputs[" + std::to_string(i) + "]");
    tokenize(chunk, *tokenizer, max_length);
    std::vector<const text::Encoding*> encodings;
    for (const auto& e : chunk.encodings) encodings.push_back(&e);
    const data::TokenBatch tb = data::collate(encodings, tokenizer->pad_id());
    // The rows of each adapter, in the order the adapters first appear.
    std::vector<const void*> order;
    std::map<const void*, std::vector<int64_t>> rows;
    std::map<const void*, std::shared_ptr<const peft::ServedAdapter>> adapters;
    for (size_t i = 0; i < routes.size(); ++i) {
      const void* key = routes[i].get();
      if (key == nullptr) continue;
      if (!rows.count(key)) {
        order.push_back(key);
        adapters[key] = std::static_pointer_cast<const peft::ServedAdapter>(routes[i]);
      }
      rows[key].push_back(static_cast<int64_t>(i));
    }
    std::vector<peft::RowGroup> groups;
    for (const void* key : order) groups.push_back({torch::tensor(rows[key]).to(device), adapters[key]});
    torch::Tensor logits;
    {
      peft::MixedBatchModel::Routing routing(*mixed, std::move(groups));
      logits = model->forward(tb.input_ids.to(device), tb.token_type_ids.to(device),
                              tb.padded ? tb.attention_mask.to(device) : torch::Tensor());
    }
    const torch::Tensor probs = torch::softmax(logits.to(torch::kFloat), -1).cpu();
    std::vector<json> out;
    out.reserve(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto* adapter = i < routes.size() ? static_cast<const peft::ServedAdapter*>(routes[i].get()) : nullptr;
      const std::vector<std::string> row_labels =
          adapter ? adapter->extra.at("labels").get<std::vector<std::string>>() : labels;
      out.push_back(prediction_rows(probs.narrow(0, static_cast<int64_t>(i), 1), row_labels).at(0));
    }
    return out;
  }
};

}  // namespace

serving::AdapterPredictor adapter_predictor(const std::string& bundle_dir, const std::string& device) {
  const json manifest = bundle::verify_bundle(bundle_dir);
  const std::string manifest_path = (fs::path(bundle_dir) / bundle::kManifest).string();
  if (manifest.value("task", "") != "text-classification") {
    fail(manifest_path, "task " + manifest["task"].dump() + " is not text-classification; --adapter serves "
                                                             "text-classification bundles only");
  }
  if (!manifest.contains("adapter_base") || !manifest["adapter_base"].is_object()) {
    fail(manifest_path, "missing key 'adapter_base': serving adapters needs the base's weights in the bundle "
                        "(attune export --adapter-base)");
  }
  bundle::Bundle paths;  // for bundle_path()'s checks only
  paths.dir = bundle_dir;
  paths.manifest = manifest;
  auto host = std::make_shared<AdapterHost>();
  std::string weights, tokenizer_dir;
  try {
    weights = bundle::bundle_path(paths, manifest["adapter_base"].at("file").get<std::string>(), "adapter_base.file");
    host->labels = manifest.at("labels").get<std::vector<std::string>>();
    host->max_length = manifest.at("max_length").get<int64_t>();
    tokenizer_dir = manifest.at("tokenizer").value("dir", "tokenizer");
  } catch (const nlohmann::json::exception& e) {
    fail(manifest_path, std::string("invalid value: ") + e.what());
  }
  const json config = io::read_json(engine::RunDir(bundle_dir).config());
  host->config = parse_config(config);
  host->tokenizer = text::load_tokenizer(bundle::bundle_path(paths, tokenizer_dir, "tokenizer.dir"));
  host->columns = column_spec(config, false);
  host->model = host->build();
  formats::load_module_tensors(*host->model, formats::load_safetensors(weights), weights);
  engine::apply_threads(engine::run_keys(config).threads);
  host->device = engine::run_device(config, device);
  host->model->to(host->device);
  host->model->eval();
  host->mixed = std::make_unique<peft::MixedBatchModel>(host->model.ptr());
  host->mixed->set_file_names(peft_file_names(host->config));

  serving::AdapterPredictor p;
  p.base.task = "text-classification";
  p.base.info = {{"labels", host->labels}, {"max_length", host->max_length}, {"text_column", host->columns.text},
                 {"device", host->device.str()}, {"adapters", true}};
  p.base.check = [host](const json& input, const std::string& where) {
    Examples probe;
    add_input(probe, input, host->columns, where);
  };
  p.run = [host](const std::vector<json>& inputs, const std::vector<serving::Route>& routes) {
    return host->run(inputs, routes);
  };
  p.base.run = [host](const std::vector<json>& inputs) { return host->run(inputs, {}); };
  p.load = [host](const std::string& dir, const std::string& name) { return host->load(dir, name); };
  return p;
}

}  // namespace attune::classification
