#include "tasks/image_classification/init.h"

#include "core/error.h"

namespace attune::image_classification {
namespace {

std::string values_text(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + nlohmann::json(v[i]).dump();
  return s + "]";
}

// One value for grey images repeated in every channel; differing ones would need a
// normalisation per channel, which the image pipeline does not have. key: what the
// error names ("init" can be told data.mean and data.std; a conversion cannot).
double single_value(const std::vector<double>& v, const std::string& what, const std::string& source,
                    const std::string& key) {
  for (double x : v) {
    if (x != v[0]) {
      const std::string remedy = key == "init" ? "set data.mean and data.std to one value for the grey images"
                                               : "fine-tune from it with --set init=" + source +
                                                     " and data.mean and data.std set to one value instead";
      fail(key, source + " normalises each channel differently (" + what + " " + values_text(v) + "); " + remedy);
    }
  }
  return v[0];
}

}  // namespace

models::VitCheckpoint apply_init(nlohmann::json& config, const std::string& source, int64_t image_side,
                                 std::ostream& log) {
  models::VitCheckpoint ck = models::read_vit_checkpoint(source, "init");
  const models::VisionTransformerOptions& o = ck.options;
  if (o.image_size() != image_side) {
    fail("init", source + " takes " + std::to_string(o.image_size()) + "x" + std::to_string(o.image_size()) +
                     " images and the data are " + std::to_string(image_side) + "x" + std::to_string(image_side) +
                     "; attune does not interpolate position embeddings: resize the images");
  }
  write_init_settings(config, ck, source, "init", log);
  return ck;
}

void write_init_settings(nlohmann::json& config, const models::VitCheckpoint& ck, const std::string& source,
                         const std::string& key, std::ostream& log) {
  for (const auto& note : ck.notes) log << "note: " << note << "\n";
  const models::VisionTransformerOptions& o = ck.options;
  nlohmann::json& model = config["model"];
  model["patch_size"] = o.patch_size();
  model["hidden_size"] = o.hidden_size();
  model["num_layers"] = o.num_layers();
  model["num_heads"] = o.num_heads();
  model["mlp_size"] = o.mlp_size();
  model["channels"] = o.channels();
  model["layer_norm_eps"] = o.layer_norm_eps();
  nlohmann::json& data = config["data"];
  if (data["mean"].is_null() && data["std"].is_null() && !ck.image_mean.empty()) {
    data["mean"] = single_value(ck.image_mean, "mean", source, key);
    data["std"] = single_value(ck.image_std, "std", source, key);
    log << "init: pixels normalised as the checkpoint was trained: (x / 255 - " << data["mean"].dump() << ") / "
        << data["std"].dump() << "\n";
  }
  log << "init: ViT from " << source << " (" << o.num_layers() << " layers, width " << o.hidden_size() << ", "
      << o.channels() << (o.channels() == 1 ? " channel" : " channels, grey images repeated in each") << ")\n";
}

}  // namespace attune::image_classification
