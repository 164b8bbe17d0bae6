// The image task's "init": a hand-made Hugging Face ViT folder fixes the model section
// and the normalisation, its body weights start the run, the head starts fresh.
#include "tests/catch.h"

#include "core/config.h"
#include "data/formats/safetensors.h"
#include "tasks/image_classification/config.h"
#include "tasks/image_classification/task.h"
#include "tasks/registry.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"
#include "tests/common/vit_fixture.h"

#include <sstream>

using nlohmann::json;

TEST_CASE("init=hf:DIR starts an image run from a ViT folder; other image sizes are refused", "[image][vit]") {
  const std::string dir = attune::testing::temp_dir("image-init");
  attune::testing::write_quadrants(dir, "train", 40, 8, 3);
  torch::manual_seed(4);
  attune::models::VisionTransformer source(attune::models::VisionTransformerOptions(8, 4, 3).channels(3).hidden_size(8)
                                               .num_heads(2).num_layers(2).mlp_size(12).layer_norm_eps(1e-12));
  const std::string hf = attune::testing::write_hf_vit(source, "image-init-hf");
  attune::testing::write_json(hf + "/preprocessor_config.json", {{"image_mean", {0.5, 0.5, 0.5}}, {"image_std", {0.5, 0.5, 0.5}}});
  json config = attune::image_classification::default_config();
  attune::config::apply_overrides(config, {"init=hf:" + hf, "data.train_images=" + dir + "/train-images",
                                           "data.train_labels=" + dir + "/train-labels", "data.valid_size=8",
                                           "train.epochs=1", "train.batch_size=8", "device=cpu",
                                           "run_dir=" + dir + "/run"});
  attune::engine::TrainFlags flags;
  std::ostringstream log;
  flags.log = &log;
  attune::tasks::train(config, flags);
  INFO(log.str());
  CHECK(log.str().find("init: pixels normalised as the checkpoint was trained: (x / 255 - 0.5) / 0.5") != std::string::npos);
  CHECK(log.str().find("init: the head starts untrained (4 classes)") != std::string::npos);
  auto run = attune::image_classification::load_image_run(dir + "/run", {}, "cpu");
  const auto& o = run.model->options();
  CHECK(o.channels() == 3);
  CHECK(o.hidden_size() == 8);
  CHECK(o.mlp_size() == 12);
  CHECK(o.layer_norm_eps() == 1e-12);
  CHECK(o.num_classes() == 4);
  CHECK(run.mean == 0.5);
  // One epoch moves the weights, not the shapes; the run predicts grey images.
  CHECK(run.model->position_embeddings.sizes() == source->position_embeddings.sizes());
  const torch::Tensor logits = run.model->forward(attune::image_classification::to_input(torch::zeros({2, 8, 8}, torch::kByte), 0.5, 0.5, 3));
  CHECK(logits.sizes() == torch::IntArrayRef({2, 4}));

  attune::testing::write_quadrants(dir, "wide", 8, 12, 4);
  json wide = config;
  attune::config::apply_overrides(wide, {"data.train_images=" + dir + "/wide-images", "data.train_labels=" + dir + "/wide-labels",
                                         "data.valid_size=2", "run_dir=" + dir + "/wide-run"});
  CHECK(attune::testing::error_of([&] { attune::tasks::train(wide, flags); }) ==
        "init: hf:" + hf + " takes 8x8 images and the data are 12x12; attune does not interpolate position "
        "embeddings: resize the images");
  json bad = config;
  attune::config::apply_overrides(bad, {"init=onnx:" + hf, "run_dir=" + dir + "/bad-run"});
  CHECK(attune::testing::error_of([&] { attune::tasks::train(bad, flags); }).find("init: expected hf:DIR") == 0);
}
