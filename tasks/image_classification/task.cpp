#include "tasks/image_classification/task.h"
#include "tasks/engine/train_config.h"
#include "tasks/engine/peft_run.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "data/formats/png.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/readers/idx.h"
#include "models/common/parameters.h"
#include "models/vit/vit.h"
#include "tasks/classification/metrics.h"
#include "tasks/classification/task.h"
#include "core/config.h"
#include "tasks/image_classification/config.h"
#include "tasks/engine/task.h"
#include "tasks/image_classification/augment.h"
#include "tasks/image_classification/init.h"
#include "tasks/image_classification/peft.h"

#include <filesystem>
#include <iostream>
#include <iterator>
#include <random>

namespace fs = std::filesystem;

namespace attune::image_classification {

torch::Tensor to_input(const torch::Tensor& images, double mean, double std, int64_t channels) {
  const torch::Tensor x = (images.to(torch::kFloat).div(255.0).unsqueeze(1) - mean) / std;
  return channels > 1 ? x.expand({-1, channels, -1, -1}) : x;
}

std::vector<std::string> label_names(const DataConfig& data, int64_t classes) {
  if (data.labels.is_null()) {
    std::vector<std::string> out;
    for (int64_t c = 0; c < classes; ++c) out.push_back(std::to_string(c));
    return out;
  }
  if (static_cast<int64_t>(data.labels.size()) != classes) {
    fail("data.labels", "must list " + std::to_string(classes) + " class names (one per label value)");
  }
  return data.labels.get<std::vector<std::string>>();
}

models::VisionTransformer make_vit(const VitConfig& m, int64_t image_size, int64_t classes) {
  if (image_size % m.patch_size != 0) {
    fail("model.patch_size",
         std::to_string(m.patch_size) + " does not divide the image size " + std::to_string(image_size));
  }
  return models::VisionTransformer(models::VisionTransformerOptions(image_size, m.patch_size, classes)
                                       .pooling(m.pooling)
                                       .attention_pool(models::AttentionPoolOptions()
                                                           .temperature(m.pooling_temperature)
                                                           .entropy_weight(m.entropy_weight)
                                                           .entropy_target(m.entropy_target))
                                       .attention(m.attention)
                                       .channels(m.channels)
                                       .layer_norm_eps(m.layer_norm_eps)
                                       .hidden_size(m.hidden_size)
                                       .num_heads(m.num_heads)
                                       .num_layers(m.num_layers)
                                       .mlp_size(m.mlp_size)
                                       .dropout(m.dropout)
                                       .attention_dropout(m.attention_dropout));
}

namespace {

// Sharded, each rank computes its batches and every rank gets all the rows; `classes` is
// the width of a rank's part when it owns no batch.
torch::Tensor logits_of(models::VisionTransformer& model, const torch::Tensor& images, double mean, double std,
                        int64_t batch_size, const torch::Device& device, const engine::EvalShard& shard = {},
                        int64_t classes = 0) {
  torch::NoGradGuard no_grad;
  torch::Tensor out;
  if (shard.world() > 1) out = torch::zeros({images.size(0), classes});
  std::vector<torch::Tensor> parts;
  for (int64_t from = 0; from < images.size(0); from += batch_size) {
    if (!shard.owns(from / batch_size)) continue;
    const int64_t n = std::min(batch_size, images.size(0) - from);
    // The bytes go to the device, a quarter of the float copy.
    const torch::Tensor logits = model->forward(to_input(images.narrow(0, from, n).to(device), mean, std, model->options().channels())).to(torch::kFloat).cpu();
    if (out.defined()) {
      out.narrow(0, from, n).copy_(logits);
    } else {
      parts.push_back(logits);
    }
  }
  return out.defined() ? shard.combine(out) : torch::cat(parts);
}

nlohmann::json metrics_of(const torch::Tensor& logits, const torch::Tensor& labels, const std::vector<std::string>& names) {
  const torch::Tensor predicted = logits.argmax(1).contiguous();
  const torch::Tensor truth = labels.contiguous();
  nlohmann::json m = classification::classification_metrics(
      std::vector<int64_t>(predicted.data_ptr<int64_t>(), predicted.data_ptr<int64_t>() + predicted.numel()),
      std::vector<int64_t>(truth.data_ptr<int64_t>(), truth.data_ptr<int64_t>() + truth.numel()), names);
  m["loss"] = torch::nn::functional::cross_entropy(logits, labels).item<double>();
  return m;
}

class ImageTask : public engine::PeftTrainTask {
 public:
  // peft: the model's adapters when only they (and the head) are trained, else null.
  ImageTask(models::VisionTransformer model, std::shared_ptr<peft::PeftModel> peft, data::ImageSet train,
            data::ImageSet valid, std::vector<std::string> names, double mean, double std, int64_t batch_size,
            int64_t eval_batch_size, int64_t padding, bool flip)
      : engine::PeftTrainTask(std::move(peft), kPeftTaskType), model_(std::move(model)), train_(std::move(train)),
        valid_(std::move(valid)), names_(std::move(names)),
        mean_(mean), std_(std), batch_size_(batch_size), eval_batch_size_(eval_batch_size), padding_(padding),
        flip_(flip) {}
  std::shared_ptr<torch::nn::Module> model() override { return model_.ptr(); }
  engine::BatchPlan train_plan(int64_t epoch, uint64_t seed) override {
    std::vector<int64_t> all(train_.images.size(0));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    return engine::shuffled_batches(std::move(all), batch_size_, epoch, seed);
  }
  torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device& device) override {
    return graph_loss(graph_inputs(batch, device));
  }
  bool supports_cuda_graphs() const override { return peft_capturable(); }
  // {indices into the training set, crop rows, crop columns (both undefined without augmentation)}
  std::vector<torch::Tensor> graph_inputs(const std::vector<int64_t>& batch, const torch::Device& device) override {
    // The training set lives on the device (Fashion-MNIST is 43 MB as bytes): a batch is
    // gathered, normalised and augmented there, with no host work per image.
    // Compared with the device asked for, not the tensor's: "cuda" is not "cuda:0", and a
    // copy per step would both cost 43 MB of transfer and move what a captured graph reads.
    if (!device_images_.defined() || images_device_ != device) {
      device_images_ = train_.images.to(device);
      device_labels_ = train_.labels.to(device);
      images_device_ = device;
    }
    std::mt19937_64 rng(engine::batch_seed(batch));
    const int64_t n = static_cast<int64_t>(batch.size());
    const Crops crops = draw_crops(n, train_.images.size(1), train_.images.size(2), padding_, flip_, rng, device);
    return {torch::tensor(batch).to(device), crops.rows, crops.cols};
  }
  torch::Tensor graph_loss(const std::vector<torch::Tensor>& in) override {
    const torch::Tensor& index = in[0];
    const torch::Tensor images = apply_crops(to_input(device_images_.index_select(0, index), mean_, std_, model_->options().channels()), padding_, {in[1], in[2]});
    const torch::Tensor logits = model_->forward(images);
    const torch::Tensor loss =
        torch::nn::functional::cross_entropy(logits.to(torch::kFloat), device_labels_.index_select(0, index));
    const torch::Tensor total = with_peft_regularizer(loss);
    const torch::Tensor pooling = model_->regularizer();
    return pooling.defined() ? total + pooling : total;
  }
  nlohmann::json evaluate(const torch::Device& device, const engine::EvalShard& shard) override {
    return metrics_of(logits_of(model_, valid_.images, mean_, std_, eval_batch_size_, device, shard,
                                static_cast<int64_t>(names_.size())),
                      valid_.labels, names_);
  }

 private:
  models::VisionTransformer model_;
  data::ImageSet train_, valid_;
  torch::Tensor device_images_, device_labels_;
  torch::Device images_device_ = torch::kCPU;  // where device_images_ was uploaded for
  std::vector<std::string> names_;
  double mean_, std_;
  int64_t batch_size_, eval_batch_size_, padding_;
  bool flip_;
};

// The first misclassified test images as PNGs, and misclassified/index.jsonl listing
// them with their true and predicted labels, for `attune report` to show.
constexpr int64_t kMisclassifiedShown = 24;

void save_misclassified(const engine::RunDir& dir, const data::ImageSet& test, const torch::Tensor& logits,
                        const std::vector<std::string>& names) {
  const std::string folder = dir.misclassified();
  io::remove_tree(folder);
  fs::create_directories(folder);
  const torch::Tensor probs = torch::softmax(logits, 1);
  const torch::Tensor predicted = probs.argmax(1);
  const torch::Tensor wrong = predicted.ne(test.labels).nonzero().flatten();
  std::string index;
  for (int64_t k = 0; k < std::min<int64_t>(wrong.numel(), kMisclassifiedShown); ++k) {
    const int64_t i = wrong[k].item<int64_t>();
    const int64_t p = predicted[i].item<int64_t>();
    const std::string file = std::to_string(i) + ".png";
    formats::write_png((fs::path(folder) / file).string(),
                       test.images[i].to(torch::kUInt8).unsqueeze(-1).expand({-1, -1, 3}).contiguous());
    index += nlohmann::json{{"test_index", i},
                            {"image", file},
                            {"label", names.at(test.labels[i].item<int64_t>())},
                            {"predicted", names.at(p)},
                            {"probability", probs[i][p].item<double>()}}
                 .dump() +
             "\n";
  }
  io::write_file_atomic(dir.misclassified_index(), index);
}

data::ImageSet take(const data::ImageSet& set, const torch::Tensor& index) {
  return {set.images.index_select(0, index), set.labels.index_select(0, index)};
}

data::ImageSet read_pair(const std::string& pair, const std::string& what) {
  const size_t comma = pair.find(',');
  if (comma == std::string::npos) fail(what, "expected IMAGES,LABELS (two IDX files), got '" + pair + "'");
  return data::read_idx_images(pair.substr(0, comma), pair.substr(comma + 1));
}

void check_images(const torch::Tensor& images, int64_t size, const std::string& where) {
  if (images.size(1) != size || images.size(2) != size) {
    fail(where, "images are " + std::to_string(images.size(1)) + "x" + std::to_string(images.size(2)) +
                    ", the run was trained on " + std::to_string(size) + "x" + std::to_string(size));
  }
}

}  // namespace

ImageRun load_image_run(const std::string& run_dir, const std::vector<std::string>& overrides,
                        const std::string& device, const std::vector<std::string>& extra_adapters) {
  engine::RunDir(run_dir).require();
  ImageRun run;
  run.config = engine::RunDir(run_dir).read_config(overrides);
  run.typed = parse_config(run.config);
  const DataConfig& d = run.typed.data;
  if (!d.num_classes || !d.image_size || !d.mean || !d.std) fail(run_dir, "config.json's data section lacks what training fills in");
  run.model = make_vit(run.typed.model, *d.image_size, *d.num_classes);
  if (peft_enabled(run.typed)) run.peft = make_peft_model(run.model);
  engine::load_run_weights(run_dir, *run.model, run.peft.get(), extra_adapters);
  run.names = label_names(d, *d.num_classes);
  run.mean = *d.mean;
  run.std = *d.std;
  run.device = engine::run_device(run.config, device);
  run.model->to(run.device);
  run.model->eval();
  return run;
}

void check_run_config(const nlohmann::json& config) {
  const Config c = parse_config(config);
  if (c.data.train_images.empty() || c.data.train_labels.empty()) {
    fail("data.train_images", "set data.train_images and data.train_labels");
  }
}

engine::Prepared prepare_run(engine::Run& run) {
  nlohmann::json& config = run.config();
  Config c = parse_config(config);
  const engine::TrainOptions& options = run.options();
  nlohmann::json& d = config.at("data");
  const std::string& train_images = c.data.train_images;
  const std::string& train_labels = c.data.train_labels;
  const int64_t valid_size = c.data.valid_size;
  const int64_t batch_size = c.train.batch_size;
  const int64_t eval_batch_size = c.train.eval_batch_size;

  data::ImageSet all = data::read_idx_images(train_images, train_labels);
  if (all.images.size(1) != all.images.size(2)) fail(train_images, "images must be square for the ViT's patch grid");
  if (valid_size >= all.images.size(0)) fail("data.valid_size", "leaves no training images");
  const int64_t classes = all.labels.max().item<int64_t>() + 1;
  // A fixed random hold-out (by seed), so validation does not depend on the file's order.
  torch::Generator gen = at::detail::createCPUGenerator(options.seed);
  const torch::Tensor order = torch::randperm(all.images.size(0), gen, torch::kLong);
  data::ImageSet valid = take(all, order.narrow(0, 0, valid_size));
  data::ImageSet train = take(all, order.narrow(0, valid_size, all.images.size(0) - valid_size));
  // A pretrained ViT fixes the architecture and, unless data.mean/std are set, the normalisation.
  std::optional<models::VitCheckpoint> init;
  if (!c.init.empty() && !run.resuming()) {
    init = apply_init(config, c.init, all.images.size(1), run.log());
    c = parse_config(config);
  }
  if (!c.data.mean || !c.data.std) {
    const torch::Tensor pixels = train.images.to(torch::kDouble).div(255.0);
    d["mean"] = pixels.mean().item<double>();
    d["std"] = pixels.std().item<double>();
  }
  d["image_size"] = all.images.size(1);
  d["num_classes"] = classes;
  c = parse_config(config);
  const std::vector<std::string> names = label_names(c.data, classes);
  torch::manual_seed(options.seed);
  models::VisionTransformer model = make_vit(c.model, all.images.size(1), classes);
  if (init) {
    models::load_vit_checkpoint(*model, *init, c.init, /*with_head=*/false);
    run.log() << "init: the head starts untrained (" << classes << " classes)\n";
  }
  const bool peft_run = peft_enabled(c);
  const engine::RunDir dir = run.dir();
  std::shared_ptr<peft::PeftModel> adapters;
  if (peft_run) {
    // On resume the base comes from the run itself, as the init (or seed) made it.
    if (run.resuming()) engine::load_peft_base(dir.path(), *model);
    adapters = add_run_adapter(model, c.peft);
  }
  model->to(options.device);
  if (!run.resuming()) {
    if (peft_run) engine::save_peft_start(dir.path(), config, *adapters);
    run.save_config();
  }
  const int64_t params = models::parameter_count(*model);
  run.log() << "data: " << train.images.size(0) << " train / " << valid.images.size(0) << " valid images, " << classes
            << " classes; model: vit, " << params << " parameters on " << options.device << "\n";
  if (peft_run) {
    run.log() << "peft: " << c.peft["method"].get<std::string>() << ", " << adapters->count().describe() << "\n";
  }
  const double mean = *c.data.mean, std = *c.data.std;
  engine::Prepared prepared;
  prepared.trainer = std::make_unique<ImageTask>(model, adapters, std::move(train), valid, names, mean, std, batch_size,
                                                 eval_batch_size, c.augment.crop_padding, c.augment.horizontal_flip);
  prepared.summary["parameters"] = params;
  const std::string test_images = c.data.test_images;
  if (!test_images.empty()) {
    if (c.data.test_labels.empty()) fail("data.test_labels", "test_images needs its labels file");
    const std::string test_labels = c.data.test_labels;
    const torch::Device device = options.device;
    prepared.finish = [=](nlohmann::json& summary) mutable {
      const data::ImageSet test = data::read_idx_images(test_images, test_labels);
      // A PEFT run is reloaded as eval loads it: the saved base plus the best adapter.
      if (peft_run) model = load_image_run(dir.path(), {}, device.str()).model;
      model->eval();
      const torch::Tensor logits = logits_of(model, test.images, mean, std, eval_batch_size, device);
      summary["test"] = metrics_of(logits, test.labels, names);
      save_misclassified(dir, test, logits, names);
    };
  }
  return prepared;
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device,
                            const std::vector<std::string>& adapters) {
  ImageRun run = load_image_run(run_dir, overrides, device, adapters);
  const data::ImageSet set = read_pair(data_path, "--data");
  check_images(set.images, run.typed.data.image_size.value_or(0), data_path);
  if (set.labels.numel() && set.labels.max().item<int64_t>() >= static_cast<int64_t>(run.names.size())) {
    fail(data_path, "label " + std::to_string(set.labels.max().item<int64_t>()) + " is beyond the run's " +
                        std::to_string(run.names.size()) + " classes");
  }
  const int64_t batch = run.typed.train.eval_batch_size;
  nlohmann::json m = metrics_of(logits_of(run.model, set.images, run.mean, run.std, batch, run.device), set.labels, run.names);
  m["data"] = data_path;
  return m;
}

void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size, const std::vector<std::string>& adapters) {
  ImageRun run = load_image_run(run_dir, {}, device, adapters);
  const torch::Tensor images = read_predict_images(in, input_name, run.model->options().image_size());
  write_predictions(logits_of(run.model, images, run.mean, run.std, batch_size, run.device), run.names, out);
}

torch::Tensor read_predict_images(std::istream& in, const std::string& input_name, int64_t size) {
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const torch::Tensor images = data::parse_idx(bytes, input_name);
  if (images.dim() != 3) fail(input_name, "expected an IDX images file of rank 3 (N, H, W)");
  check_images(images, size, input_name);
  return images;
}

void write_predictions(const torch::Tensor& logits, const std::vector<std::string>& names, std::ostream& out) {
  for (const auto& row : classification::prediction_rows(torch::softmax(logits, 1), names)) out << row.dump() << "\n";
}

}  // namespace attune::image_classification
