// The "image-classification" task's run config, typed: each section a struct whose
// describe() holds its defaults and checks (core/schema.h), parsed once from the merged
// JSON. The peft section is text classification's, owned by models/peft.
#pragma once
#include "models/transformer/encoder_attention.h"
#include "tasks/engine/train_config.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace attune::image_classification {

struct DataConfig {
  std::string train_images;  // IDX files
  std::string train_labels;
  std::string test_images;
  std::string test_labels;
  int64_t valid_size = 5000;  // a random hold-out of the training images
  nlohmann::json labels;      // class names, or null: "0", "1", ...
  // Filled in by training (pixel statistics of the training split, the images' shape).
  std::optional<double> mean;
  std::optional<double> std;
  std::optional<int64_t> image_size;
  std::optional<int64_t> num_classes;
  static void describe(config::Schema<DataConfig>& s);
};

struct AugmentConfig {
  int64_t crop_padding = 4;
  bool horizontal_flip = true;
  static void describe(config::Schema<AugmentConfig>& s);
};

// The ViT's model section.
struct VitConfig {
  std::string name = "vit";
  int64_t patch_size = 4;
  int64_t hidden_size = 192;
  int64_t num_layers = 6;
  int64_t num_heads = 3;
  int64_t mlp_size = 768;
  double dropout = 0.0;
  double attention_dropout = 0.0;
  std::string pooling = "cls";
  double pooling_temperature = 1.0;
  double entropy_weight = 0.0;
  double entropy_target = 0.5;
  int64_t channels = 1;  // > 1: grey images repeated per channel (pretrained colour ViTs)
  double layer_norm_eps = 1e-6;
  models::EncoderAttentionOptions attention;
  static void describe(config::Schema<VitConfig>& s);
};

struct Config {
  engine::RunKeys run;
  std::string init;  // "hf:DIR" or "timm:FILE": a pretrained ViT to start from (init.h)
  DataConfig data;
  AugmentConfig augment;
  VitConfig model;
  // Resolved (the method's defaults filled in), or {"method": null}: full fine-tuning.
  // Checked by models/peft, as for text classification (docs/peft.md).
  nlohmann::json peft;
  engine::TrainConfig train;
};

nlohmann::json default_config();
// "section.key: help" for every key of default_config() (attune config --keys).
std::vector<std::string> config_help();
Config parse_config(const nlohmann::json& config);
bool peft_enabled(const Config& config);

}  // namespace attune::image_classification
