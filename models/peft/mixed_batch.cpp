#include "models/peft/mixed_batch.h"

#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
#include "models/peft/ia3/layer.h"
#include "models/peft/lora/layer.h"
#include "models/peft/peft_model.h"
#include "models/peft/targets.h"

#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace attune::peft {

// The adapter every Linear of a served model carries: it applies the current batch's
// row groups, and is the identity when no group changes its layer.
class MixedLayerImpl : public models::LinearAdapterImpl {
 public:
  MixedLayerImpl(const MixedBatchModel& model, size_t index) : model_(model), index_(index) {}

  torch::Tensor adapt_input(const torch::Tensor& x) override {
    torch::Tensor out;
    for (const auto& g : model_.groups_) {
      const LayerUpdate& u = g.adapter->layers[index_];
      if (u.kind != LayerUpdate::Kind::ia3_input) continue;
      if (!out.defined()) out = x.clone();  // x itself also feeds residual connections
      out.index_copy_(0, g.rows, x.index_select(0, g.rows) * u.scale.to(x.scalar_type()));
    }
    return out.defined() ? out : x;
  }
  // A group's IA3 may scale this layer's input rows.
  bool rewrites_input() const override { return true; }

  torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) override {
    torch::Tensor out = y;  // a fresh projection: updated in place
    for (const auto& g : model_.groups_) {
      const LayerUpdate& u = g.adapter->layers[index_];
      switch (u.kind) {
        case LayerUpdate::Kind::lora: {
          namespace F = torch::nn::functional;
          const torch::Tensor rows = x.index_select(0, g.rows);
          out.index_add_(0, g.rows, F::linear(F::linear(rows, u.a), u.b).mul(u.scaling).to(y.scalar_type()));
          break;
        }
        case LayerUpdate::Kind::ia3_output:
          out.index_copy_(0, g.rows, out.index_select(0, g.rows) * u.scale.to(y.scalar_type()));
          break;
        case LayerUpdate::Kind::replace:
          out.index_copy_(0, g.rows, torch::linear(x.index_select(0, g.rows), u.weight, u.bias));
          break;
        default:
          break;
      }
    }
    return out;
  }

 private:
  const MixedBatchModel& model_;
  size_t index_;
};

namespace {

const char* kMixedName = "mixed_batch";
const char* kScratchName = "served";  // the adapter's name on the scratch model

int64_t tensor_bytes(const torch::Tensor& t) { return t.defined() ? static_cast<int64_t>(t.nbytes()) : 0; }

}  // namespace

MixedBatchModel::MixedBatchModel(std::shared_ptr<torch::nn::Module> root) : root_(std::move(root)) {
  TORCH_CHECK(root_, "MixedBatchModel: no model");
  for (const auto& item : root_->named_modules("", false)) {
    auto* linear = item.value()->as<models::LinearImpl>();
    if (linear == nullptr) continue;
    TORCH_CHECK(linear->adapters().empty(), "MixedBatchModel: ", item.key(), " already has adapters");
    paths_.push_back(item.key());
    linears_.push_back(linear);
  }
  for (size_t i = 0; i < linears_.size(); ++i) {
    linears_[i]->add_adapter(kMixedName, std::make_shared<MixedLayerImpl>(*this, i));
    linears_[i]->set_active_adapter(kMixedName);
  }
}

torch::Device MixedBatchModel::device() const {
  const auto params = root_->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

std::shared_ptr<ServedAdapter> MixedBatchModel::load(const std::string& dir, const std::string& name,
                                                     const std::shared_ptr<torch::nn::Module>& scratch) const {
  if (!fs::is_directory(dir)) fail(dir, "adapter directory does not exist");
  const std::string config_path = (fs::path(dir) / "adapter_config.json").string();
  if (!fs::exists(config_path)) fail(dir, "not an adapter directory (no adapter_config.json)");
  const nlohmann::json resolved = from_adapter_config(io::read_json(config_path), config_path);
  auto served = std::make_shared<ServedAdapter>();
  served->name = name;
  served->dir = dir;
  served->method = resolved.at("method").get<std::string>();
  if (served->method != "lora" && served->method != "ia3") {
    fail(config_path + ": peft_type", "method '" + served->method +
                                          "' cannot share a batch with other adapters (served: LORA, IA3); merge it "
                                          "(attune merge, attune export) and serve it alone");
  }
  if (resolved.value("bias", std::string("none")) != "none") {
    fail(config_path + ": bias", "'" + resolved["bias"].get<std::string>() +
                                     "' trains base biases, which cannot differ per row; only \"none\" is served");
  }
  if (served->method == "lora") {
    served->rank = resolved.at("r").get<int64_t>();
    served->rslora = resolved.value("use_rslora", false);
  }
  // Every check of the files against the model (target modules, missing or extra
  // tensors, shapes) is PeftModel's, on the scratch copy.
  PeftModel scratch_peft(scratch);
  scratch_peft.set_file_names(to_file_);
  scratch_peft.load_adapter(dir, kScratchName);
  const ModuleMatcher keep(resolved.value("modules_to_save", nlohmann::json()), config_path + ": modules_to_save",
                           scratch.get());
  std::map<std::string, models::LinearImpl*> scratch_linears;
  for (const auto& item : scratch->named_modules("", false)) {
    auto* linear = item.value()->as<models::LinearImpl>();
    if (keep.covers(item.key()) && linear == nullptr && !item.value()->parameters(false).empty()) {
      fail(config_path + ": modules_to_save", "'" + item.key() + "' is not a Linear layer; only Linear layers can "
                                              "differ per adapter in a mixed batch");
    }
    if (linear != nullptr) scratch_linears[item.key()] = linear;
  }
  const torch::Device device = this->device();
  torch::NoGradGuard no_grad;
  auto copy = [&](const torch::Tensor& t) { return t.defined() ? t.detach().to(device, torch::kFloat, false, true) : t; };
  served->layers.resize(paths_.size());
  for (size_t i = 0; i < paths_.size(); ++i) {
    const auto it = scratch_linears.find(paths_[i]);
    TORCH_CHECK(it != scratch_linears.end(), "MixedBatchModel: the scratch model has no layer ", paths_[i]);
    models::LinearImpl& linear = *it->second;
    LayerUpdate& u = served->layers[i];
    if (keep.covers(paths_[i])) {
      u.kind = LayerUpdate::Kind::replace;
      u.weight = copy(linear.weight);
      u.bias = copy(linear.bias);
    } else if (const auto adapter = linear.adapter(kScratchName)) {
      if (auto* lora = dynamic_cast<LoraAdapterImpl*>(adapter.get())) {
        u.kind = LayerUpdate::Kind::lora;
        u.a = copy(lora->lora_A->weight);
        u.b = copy(lora->lora_B->weight);
        u.scaling = lora->scaling();
      } else if (auto* ia3 = dynamic_cast<Ia3AdapterImpl*>(adapter.get())) {
        u.kind = ia3->feedforward() ? LayerUpdate::Kind::ia3_input : LayerUpdate::Kind::ia3_output;
        u.scale = copy(ia3->ia3_l.flatten());
      } else {
        TORCH_CHECK(false, "MixedBatchModel: unexpected adapter on ", paths_[i]);
      }
    }
    served->bytes += tensor_bytes(u.a) + tensor_bytes(u.b) + tensor_bytes(u.scale) + tensor_bytes(u.weight) +
                     tensor_bytes(u.bias);
  }
  return served;
}

std::vector<std::string> MixedBatchModel::replaced_tensors(const ServedAdapter& adapter) const {
  std::vector<std::string> names;
  for (size_t i = 0; i < paths_.size(); ++i) {
    const LayerUpdate& u = adapter.layers[i];
    if (u.kind != LayerUpdate::Kind::replace) continue;
    names.push_back(paths_[i] + ".weight");
    if (u.bias.defined()) names.push_back(paths_[i] + ".bias");
  }
  return names;
}

MixedBatchModel::Routing::Routing(MixedBatchModel& model, std::vector<RowGroup> groups) : model_(model) {
  for (const auto& g : groups) {
    TORCH_CHECK(g.adapter && g.adapter->layers.size() == model.paths_.size(),
                "MixedBatchModel: adapter '", g.adapter ? g.adapter->name : "", "' was loaded for another model");
  }
  model_.groups_ = std::move(groups);
}

MixedBatchModel::Routing::~Routing() { model_.groups_.clear(); }

}  // namespace attune::peft
