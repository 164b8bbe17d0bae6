#include "tasks/image_classification/config.h"

#include "core/config.h"
#include "core/error.h"
#include "core/schema.h"
#include "models/peft/attention_switches.h"
#include "models/peft/config.h"
#include "tasks/engine/settings.h"

namespace attune::image_classification {

void DataConfig::describe(config::Schema<DataConfig>& s) {
  using D = DataConfig;
  s.optional_string("train_images", &D::train_images, "IDX images to train on");
  s.optional_string("train_labels", &D::train_labels, "IDX labels of train_images");
  s.optional_string("test_images", &D::test_images, "IDX images measured once with the best weights");
  s.optional_string("test_labels", &D::test_labels, "IDX labels of test_images");
  s.integer("valid_size", &D::valid_size, 1, 1 << 30, "training images held out (at random, by seed) for validation");
  s.json("labels", &D::labels,
         [](const nlohmann::json& v, const std::string& path) {
           bool ok = v.is_null() || v.is_array();
           if (v.is_array()) {
             for (const auto& name : v) ok = ok && name.is_string();
           }
           if (!ok) fail(path, "expected a list of class names or null, got " + v.dump());
         },
         "class names, one per label value; null: the values");
  s.optional_number("mean", &D::mean, -1e9, 1e9, "pixel mean for normalisation; null: the training split's");
  s.optional_number("std", &D::std, 1e-12, 1e9, "pixel standard deviation; null: the training split's");
  s.optional_integer("image_size", &D::image_size, 1, 1 << 16, "set by training: the images' side");
  s.optional_integer("num_classes", &D::num_classes, 1, 1 << 30, "set by training: the classes seen");
}

void AugmentConfig::describe(config::Schema<AugmentConfig>& s) {
  s.integer("crop_padding", &AugmentConfig::crop_padding, 0, 1024, "random crops after padding by this many pixels");
  s.boolean("horizontal_flip", &AugmentConfig::horizontal_flip, "random horizontal flips");
}

void VitConfig::describe(config::Schema<VitConfig>& s) {
  using V = VitConfig;
  s.choice("name", &V::name, {"vit"}, "the encoder");
  s.integer("patch_size", &V::patch_size, 1, 1024, "pixels per patch side; must divide the image size");
  s.integer("hidden_size", &V::hidden_size, 1, 1 << 16, "width");
  s.integer("num_layers", &V::num_layers, 1, 256, "layers");
  s.integer("num_heads", &V::num_heads, 1, 1024, "attention heads");
  s.integer("mlp_size", &V::mlp_size, 1, 1 << 20, "feed-forward width");
  s.number("dropout", &V::dropout, 0.0, 0.95, "hidden dropout");
  s.number("attention_dropout", &V::attention_dropout, 0.0, 0.95, "attention-probability dropout");
  s.choice("pooling", &V::pooling, {"cls", "mean", "attention"}, "how patch states become one vector");
  s.number("pooling_temperature", &V::pooling_temperature, 1e-3, 1e3, "attention pooling's softmax temperature");
  s.number("entropy_weight", &V::entropy_weight, 0.0, 1e3, "weight of attention pooling's entropy regulariser");
  s.number("entropy_target", &V::entropy_target, 0.0, 1.0, "entropy (share of its maximum) the regulariser aims at");
  s.integer("channels", &V::channels, 1, 64, "input channels; grey images are repeated in each");
  s.number("layer_norm_eps", &V::layer_norm_eps, 1e-15, 1.0, "LayerNorm epsilon (timm 1e-6, Hugging Face ViT 1e-12)");
  s.embed(&V::attention);
  s.check([](const V& v, const std::string& key) {
    if (v.hidden_size % v.num_heads != 0) fail(config::key_path(key, "num_heads"), "must divide model.hidden_size");
    if (v.attention.context_size > 0) {
      fail(config::key_path(key, "context_size"), "images have no context input; leave it 0");
    }
  });
}

namespace {

// What a PEFT method cannot do to a ViT, or would leave frozen at its starting values.
void check_peft(const Config& c) {
  const std::string method = c.peft.at("method").get<std::string>();
  if (method == "prefix_tuning") {
    // PEFT's prompt learning hands the model past keys and values, which transformers'
    // ViT does not take: such an adapter would load nowhere else.
    fail("peft.method", "prefix_tuning does not apply to a ViT (transformers' ViT takes no past keys and values); "
                        "use lora, adalora, ia3, bitfit or bottleneck");
  }
  if (c.model.pooling == "attention") {
    fail("model.pooling", "attention pooling's query is not a PEFT module yet: use it with full fine-tuning");
  }
  peft::check_attention_switches(c.model.attention, "model");
}

}  // namespace

nlohmann::json default_config() {
  nlohmann::json c = engine::default_run_keys();
  c["task"] = "image-classification";
  c["init"] = nullptr;
  c["run_dir"] = "runs/image-classification";
  c["data"] = config::defaults<DataConfig>();
  c["augment"] = config::defaults<AugmentConfig>();
  c["model"] = config::defaults<VitConfig>();
  c["peft"] = peft::default_section();
  engine::TrainConfig train;
  train.lr = 1e-3;
  train.weight_decay = 0.05;
  train.epochs = 30;
  train.batch_size = 128;
  train.eval_batch_size = 512;
  train.warmup_ratio = 0.05;
  train.schedule = "cosine";
  train.selection_metric = "accuracy";
  c["train"] = config::to_json(train);
  return c;
}

std::vector<std::string> config_help() {
  const nlohmann::json d = default_config();
  std::vector<std::string> lines = engine::engine_help(d);
  lines.push_back("init: hf:DIR (a transformers ViT folder) or timm:FILE|DIR (a timm ViT state dict) to fine-tune from");
  config::append_help<DataConfig>(lines, "data", d.at("data"));
  config::append_help<AugmentConfig>(lines, "augment", d.at("augment"));
  config::append_help<VitConfig>(lines, "model", d.at("model"));
  lines.push_back("peft: a PEFT method and its keys (docs/peft.md); the classifier always trains");
  return lines;
}

Config parse_config(const nlohmann::json& config) {
  Config c;
  c.run = engine::run_keys(config);
  // Run directories written before "init" existed have no such key: they started from scratch.
  c.init = config.contains("init") ? config::get_optional_string(config, "init", "") : "";
  c.data = config::parse<DataConfig>(config::at_field(config, "data", ""), "data");
  c.augment = config::parse<AugmentConfig>(config::at_field(config, "augment", ""), "augment");
  c.model = config::parse<VitConfig>(config::at_field(config, "model", ""), "model");
  // Runs written before PEFT have no peft section.
  c.peft = peft::run_section(config);
  c.train = engine::train_section(config);
  if (peft_enabled(c)) check_peft(c);
  return c;
}

bool peft_enabled(const Config& config) { return peft::enabled(config.peft); }

}  // namespace attune::image_classification
