#include "tasks/image_classification/task.h"
#include "tasks/engine/train_config.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/readers/idx.h"
#include "models/common/parameters.h"
#include "models/vit/vit.h"
#include "tasks/classification/metrics.h"
#include "tasks/classification/task.h"
#include "core/config.h"
#include "tasks/engine/task.h"
#include "tasks/image_classification/augment.h"

#include <filesystem>
#include <iostream>
#include <iterator>
#include <random>

namespace fs = std::filesystem;

namespace attune::image_classification {

torch::Tensor to_input(const torch::Tensor& images, double mean, double std) {
  return (images.to(torch::kFloat).div(255.0).unsqueeze(1) - mean) / std;
}

namespace {

std::vector<std::string> label_names(const nlohmann::json& config, int64_t classes) {
  const nlohmann::json& names = config.at("data").at("labels");
  if (names.is_null()) {
    std::vector<std::string> out;
    for (int64_t c = 0; c < classes; ++c) out.push_back(std::to_string(c));
    return out;
  }
  if (!names.is_array() || static_cast<int64_t>(names.size()) != classes) {
    fail("data.labels", "must list " + std::to_string(classes) + " class names (one per label value)");
  }
  return names.get<std::vector<std::string>>();
}

models::VisionTransformer make_vit(const nlohmann::json& config, int64_t image_size, int64_t classes) {
  const nlohmann::json& m = config.at("model");
  config::get_choice(m, "name", "model", {"vit"});
  const int64_t patch = config::get_int(m, "patch_size", "model", 1, 1024);
  if (image_size % patch != 0) {
    fail("model.patch_size", std::to_string(patch) + " does not divide the image size " + std::to_string(image_size));
  }
  const int64_t hidden = config::get_int(m, "hidden_size", "model", 1, 1 << 16);
  const int64_t heads = config::get_int(m, "num_heads", "model", 1, 1024);
  if (hidden % heads != 0) fail("model.num_heads", "must divide model.hidden_size");
  const models::EncoderAttentionOptions attention = models::encoder_attention_from_config(m, "model");
  if (attention.context_size > 0) fail("model.context_size", "images have no context input; leave it 0");
  return models::VisionTransformer(models::VisionTransformerOptions(image_size, patch, classes)
                                       .pooling(config::get_choice(m, "pooling", "model", {"cls", "mean", "attention"}))
                                       .attention_pool(models::AttentionPoolOptions()
                                                           .temperature(config::get_double(m, "pooling_temperature", "model", 1e-3, 1e3))
                                                           .entropy_weight(config::get_double(m, "entropy_weight", "model", 0.0, 1e3))
                                                           .entropy_target(config::get_double(m, "entropy_target", "model", 0.0, 1.0)))
                                       .attention(attention)
                                       .hidden_size(hidden)
                                       .num_heads(heads)
                                       .num_layers(config::get_int(m, "num_layers", "model", 1, 256))
                                       .mlp_size(config::get_int(m, "mlp_size", "model", 1, 1 << 20))
                                       .dropout(config::get_double(m, "dropout", "model", 0.0, 0.95))
                                       .attention_dropout(config::get_double(m, "attention_dropout", "model", 0.0, 0.95)));
}

torch::Tensor logits_of(models::VisionTransformer& model, const torch::Tensor& images, double mean, double std,
                        int64_t batch_size, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t from = 0; from < images.size(0); from += batch_size) {
    const int64_t n = std::min(batch_size, images.size(0) - from);
    // The bytes go to the device, a quarter of the float copy.
    out.push_back(model->forward(to_input(images.narrow(0, from, n).to(device), mean, std)).to(torch::kFloat).cpu());
  }
  return torch::cat(out);
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

class ImageTask : public engine::TrainTask {
 public:
  ImageTask(models::VisionTransformer model, data::ImageSet train, data::ImageSet valid, std::vector<std::string> names,
            double mean, double std, int64_t batch_size, int64_t eval_batch_size, int64_t padding, bool flip)
      : model_(std::move(model)), train_(std::move(train)), valid_(std::move(valid)), names_(std::move(names)),
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
  bool supports_cuda_graphs() const override { return true; }
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
    const torch::Tensor images = apply_crops(to_input(device_images_.index_select(0, index), mean_, std_), padding_, {in[1], in[2]});
    const torch::Tensor logits = model_->forward(images);
    const torch::Tensor loss =
        torch::nn::functional::cross_entropy(logits.to(torch::kFloat), device_labels_.index_select(0, index));
    const torch::Tensor pooling = model_->regularizer();
    return pooling.defined() ? loss + pooling : loss;
  }
  nlohmann::json evaluate(const torch::Device& device) override {
    return metrics_of(logits_of(model_, valid_.images, mean_, std_, eval_batch_size_, device), valid_.labels, names_);
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

data::ImageSet take(const data::ImageSet& set, const torch::Tensor& index) {
  return {set.images.index_select(0, index), set.labels.index_select(0, index)};
}

data::ImageSet read_pair(const std::string& pair, const std::string& what) {
  const size_t comma = pair.find(',');
  if (comma == std::string::npos) fail(what, "expected IMAGES,LABELS (two IDX files), got '" + pair + "'");
  return data::read_idx_images(pair.substr(0, comma), pair.substr(comma + 1));
}

void check_images(const data::ImageSet& set, const ImageRun& run, const std::string& where) {
  const int64_t size = run.config.at("data").at("image_size").get<int64_t>();
  if (set.images.size(1) != size || set.images.size(2) != size) {
    fail(where, "images are " + std::to_string(set.images.size(1)) + "x" + std::to_string(set.images.size(2)) +
                    ", the run was trained on " + std::to_string(size) + "x" + std::to_string(size));
  }
}

}  // namespace

ImageRun load_image_run(const std::string& run_dir, const std::vector<std::string>& overrides,
                        const std::string& device) {
  engine::RunDir(run_dir).require();
  ImageRun run;
  run.config = engine::RunDir(run_dir).read_config(overrides);
  const nlohmann::json& d = run.config.at("data");
  const int64_t classes = d.at("num_classes").get<int64_t>();
  run.model = make_vit(run.config, d.at("image_size").get<int64_t>(), classes);
  engine::RunDir(run_dir).load_weights(*run.model);
  run.names = label_names(run.config, classes);
  run.mean = d.at("mean").get<double>();
  run.std = d.at("std").get<double>();
  run.device = engine::run_device(run.config, device);
  run.model->to(run.device);
  run.model->eval();
  return run;
}

nlohmann::json default_config() {
  nlohmann::json c = engine::default_run_keys();
  c["task"] = "image-classification";
  c["run_dir"] = "runs/image-classification";
  c["data"] = {{"train_images", nullptr}, {"train_labels", nullptr}, {"test_images", nullptr}, {"test_labels", nullptr},
               {"valid_size", 5000},      {"labels", nullptr},       {"mean", nullptr},        {"std", nullptr},
               {"image_size", nullptr},   {"num_classes", nullptr}};
  c["augment"] = {{"crop_padding", 4}, {"horizontal_flip", true}};
  c["model"] = {{"name", "vit"},    {"patch_size", 4},  {"hidden_size", 192}, {"num_layers", 6},
                {"num_heads", 3},   {"mlp_size", 768},  {"dropout", 0.0},     {"attention_dropout", 0.0},
                {"pooling", "cls"}, {"pooling_temperature", 1.0}, {"entropy_weight", 0.0}, {"entropy_target", 0.5},
                // Attention switches (see models/transformer/encoder_attention.h).
                {"attention_mask", nullptr}, {"position_bias", "none"}, {"relative_max_distance", 128},
                {"layer_fusion", false}, {"context_size", 0}};
  c["train"] = engine::default_train_section();
  c["train"]["lr"] = 1e-3;
  c["train"]["weight_decay"] = 0.05;
  c["train"]["epochs"] = 30;
  c["train"]["batch_size"] = 128;
  c["train"]["eval_batch_size"] = 512;
  c["train"]["warmup_ratio"] = 0.05;
  c["train"]["schedule"] = "cosine";
  c["train"]["selection_metric"] = "accuracy";
  return c;
}

void check_run_config(const nlohmann::json& config) {
  const nlohmann::json& d = config.at("data");
  const std::string train_images = config::get_optional_string(d, "train_images", "data");
  const std::string train_labels = config::get_optional_string(d, "train_labels", "data");
  if (train_images.empty() || train_labels.empty()) fail("data.train_images", "set data.train_images and data.train_labels");
  config::get_int(d, "valid_size", "data", 1, 1 << 30);
  config::get_int(config.at("augment"), "crop_padding", "augment", 0, 1024);
  config::get_bool(config.at("augment"), "horizontal_flip", "augment");
}

engine::Prepared prepare_run(engine::Run& run) {
  nlohmann::json& config = run.config();
  const engine::TrainOptions& options = run.options();
  nlohmann::json& d = config.at("data");
  const std::string train_images = config::get_optional_string(d, "train_images", "data");
  const std::string train_labels = config::get_optional_string(d, "train_labels", "data");
  const int64_t valid_size = config::get_int(d, "valid_size", "data", 1, 1 << 30);
  const int64_t padding = config::get_int(config.at("augment"), "crop_padding", "augment", 0, 1024);
  const bool flip = config::get_bool(config.at("augment"), "horizontal_flip", "augment");
  const engine::TrainConfig t = engine::train_section(config);
  const int64_t batch_size = t.batch_size;
  const int64_t eval_batch_size = t.eval_batch_size;

  data::ImageSet all = data::read_idx_images(train_images, train_labels);
  if (all.images.size(1) != all.images.size(2)) fail(train_images, "images must be square for the ViT's patch grid");
  if (valid_size >= all.images.size(0)) fail("data.valid_size", "leaves no training images");
  const int64_t classes = all.labels.max().item<int64_t>() + 1;
  // A fixed random hold-out (by seed), so validation does not depend on the file's order.
  torch::Generator gen = at::detail::createCPUGenerator(options.seed);
  const torch::Tensor order = torch::randperm(all.images.size(0), gen, torch::kLong);
  data::ImageSet valid = take(all, order.narrow(0, 0, valid_size));
  data::ImageSet train = take(all, order.narrow(0, valid_size, all.images.size(0) - valid_size));
  if (d.at("mean").is_null() || d.at("std").is_null()) {
    const torch::Tensor pixels = train.images.to(torch::kDouble).div(255.0);
    d["mean"] = pixels.mean().item<double>();
    d["std"] = pixels.std().item<double>();
  }
  d["image_size"] = all.images.size(1);
  d["num_classes"] = classes;
  const std::vector<std::string> names = label_names(config, classes);
  torch::manual_seed(options.seed);
  models::VisionTransformer model = make_vit(config, all.images.size(1), classes);
  model->to(options.device);
  if (!run.resuming()) run.save_config();
  const int64_t params = models::parameter_count(*model);
  run.log() << "data: " << train.images.size(0) << " train / " << valid.images.size(0) << " valid images, " << classes
            << " classes; model: vit, " << params << " parameters on " << options.device << "\n";
  const double mean = d.at("mean").get<double>(), std = d.at("std").get<double>();
  engine::Prepared prepared;
  prepared.trainer = std::make_unique<ImageTask>(model, std::move(train), valid, names, mean, std, batch_size,
                                                 eval_batch_size, padding, flip);
  prepared.summary["parameters"] = params;
  const std::string test_images = config::get_optional_string(d, "test_images", "data");
  if (!test_images.empty()) {
    const std::string test_labels = config::get_string(d, "test_labels", "data");
    const torch::Device device = options.device;
    prepared.finish = [=](nlohmann::json& summary) mutable {
      const data::ImageSet test = data::read_idx_images(test_images, test_labels);
      model->eval();
      summary["test"] = metrics_of(logits_of(model, test.images, mean, std, eval_batch_size, device), test.labels, names);
    };
  }
  return prepared;
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device) {
  ImageRun run = load_image_run(run_dir, overrides, device);
  const data::ImageSet set = read_pair(data_path, "--data");
  check_images(set, run, data_path);
  if (set.labels.numel() && set.labels.max().item<int64_t>() >= static_cast<int64_t>(run.names.size())) {
    fail(data_path, "label " + std::to_string(set.labels.max().item<int64_t>()) + " is beyond the run's " +
                        std::to_string(run.names.size()) + " classes");
  }
  const int64_t batch = engine::train_section(run.config).eval_batch_size;
  nlohmann::json m = metrics_of(logits_of(run.model, set.images, run.mean, run.std, batch, run.device), set.labels, run.names);
  m["data"] = data_path;
  return m;
}

void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size) {
  ImageRun run = load_image_run(run_dir, {}, device);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const torch::Tensor images = data::parse_idx(bytes, input_name);
  if (images.dim() != 3) fail(input_name, "expected an IDX images file of rank 3 (N, H, W)");
  check_images({images, torch::Tensor()}, run, input_name);
  const torch::Tensor probs = torch::softmax(logits_of(run.model, images, run.mean, run.std, batch_size, run.device), 1);
  for (const auto& row : classification::prediction_rows(probs, run.names)) out << row.dump() << "\n";
}

}  // namespace attune::image_classification
