#include "tasks/image_classification/export.h"

#include "core/error.h"
#include "core/files.h"
#include "data/formats/base64.h"
#include "data/formats/png.h"
#include "models/common/parameters.h"
#include "models/vit/script_export.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/task.h"

#include <filesystem>

namespace fs = std::filesystem;
using nlohmann::json;

namespace attune::image_classification {
namespace {

const char* kTask = "image-classification";

std::string size_text(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

// The exported module against the run's model on fixed pixels (the global random
// generator stays untouched), so an export bug fails the export instead of a service later.
double self_check(ImageRun& run, torch::jit::Module& module) {
  torch::NoGradGuard no_grad;
  const int64_t size = run.model->options().image_size();
  const torch::Tensor pixels =
      (torch::arange(3 * size * size, torch::kLong) * 37 + 11).remainder(256).to(torch::kByte).view({3, size, size});
  const torch::Tensor expected = run.model->forward(to_input(pixels, run.mean, run.std, run.model->options().channels()));
  const torch::Tensor got = module.forward({pixels.unsqueeze(1)}).toTensor();
  return (got - expected).abs().max().item<double>();
}

}  // namespace

torch::jit::Module script_image_classifier(ImageRun& run, bool int8) {
  script::ClassNames names;
  names.dynamic_int8 = int8;
  torch::jit::Module vit = models::script_vit(*run.model, names);
  script::ScriptModuleBuilder b(names, "ImageClassifier");
  const std::string model = b.submodule("vit", vit);
  // to_input's ops in its order, so the bundle's logits are the run's bit for bit.
  const int64_t channels = run.model->options().channels();
  return b.build("def forward(self, pixels: Tensor) -> Tensor:\n"
                 "    x = (pixels.float().div(255.0) - " + script::float_literal(run.mean) + ") / " +
                 script::float_literal(run.std) + "\n" +
                 (channels > 1 ? "    x = x.expand([-1, " + std::to_string(channels) + ", -1, -1])\n" : std::string()) +
                 "    return " + model + ".forward(x)\n");
}

json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite, bool int8) {
  // The export runs on the CPU: bundles are device-neutral (torch::jit::load places them).
  ImageRun run = load_image_run(run_dir, {}, "cpu");
  // A PEFT run's adapter is folded into the weights where it is linear in them; the
  // others (bottleneck adapters) are scripted as they are.
  const json peft = run.peft ? run.peft->merge_for_export() : json{{"method", nullptr}, {"merged", false}};
  const std::string engine = int8 ? script::use_int8_engine() : "";
  torch::jit::Module module = script_image_classifier(run, int8);
  const double max_diff = self_check(run, module);
  // int8 changes the numbers by design.
  TORCH_CHECK(int8 || max_diff < 1e-4, "export: the scripted model differs from the run's by ", max_diff);

  const models::VisionTransformerOptions& o = run.model->options();
  const int64_t parameters = models::parameter_count(*run.model);
  const std::string dtype = int8 ? "int8-dynamic" : "float32";
  json manifest = bundle::base_manifest(kTask);
  manifest["model"] = {{"file", bundle::kModel}, {"format", "torchscript"}, {"method", "forward"},
                       {"dtype", dtype}, {"encoder", "vit"}, {"parameters", parameters}};
  if (int8) manifest["model"]["quantized_engine"] = engine;
  // The bundle takes grey pixels whatever the model's channels: its forward repeats them
  // (a pretrained colour ViT, model.channels > 1), so readers and servers feed one plane.
  manifest["inputs"] = json::array({{{"name", "pixels"},
                                     {"dtype", "float32"},
                                     {"shape", {"batch", 1, o.image_size(), o.image_size()}},
                                     {"values", "0..255 as the IDX bytes (uint8 is taken too); the model normalises"}}});
  manifest["outputs"] = json::array(
      {{{"name", "logits"}, {"dtype", "float32"}, {"shape", {"batch", static_cast<int64_t>(run.names.size())}}}});
  manifest["labels"] = run.names;
  manifest["image"] = {{"size", o.image_size()}, {"channels", 1}, {"layout", "NCHW"}};
  if (o.channels() > 1) manifest["image"]["model_channels"] = o.channels();
  manifest["normalization"] = {{"formula", "(pixels / 255 - mean) / std"}, {"mean", run.mean}, {"std", run.std},
                               {"in_model", true}};
  manifest["pooling"] = o.pooling();
  manifest["peft"] = peft;
  bundle::write_run_bundle(out_dir, overwrite, manifest, module, run_dir);

  const json written = io::read_json((fs::path(out_dir) / bundle::kManifest).string());
  int64_t bytes = 0;
  for (const auto& f : written["files"]) bytes += f["bytes"].get<int64_t>();
  return {{"run_dir", run_dir}, {"bundle", out_dir}, {"task", kTask}, {"files", written["files"].size()},
          {"bytes", bytes}, {"parameters", parameters}, {"pooling", o.pooling()}, {"labels", run.names},
          {"image_size", o.image_size()}, {"torch_version", bundle::torch_version()},
          {"check_max_abs_diff", max_diff}, {"dtype", dtype}, {"peft", peft}};
}

namespace {

// What predicting from an image bundle needs, checked and on its device.
struct ImageBundle {
  bundle::Bundle b;
  std::string manifest;
  std::vector<std::string> labels;
  int64_t size = 0, channels = 0;
  torch::Device device = torch::kCPU;

  // pixels (n, C, S, S), float or uint8, any device -> logits (n, classes) float32 on the CPU.
  torch::Tensor logits(const torch::Tensor& pixels) {
    const torch::Tensor out = bundle::forward(b, {pixels.to(device)});
    if (out.dim() != 2 || out.size(1) != static_cast<int64_t>(labels.size())) {
      fail(manifest, "lists " + std::to_string(labels.size()) + " labels but the model gives logits of shape " +
                         c10::str(out.sizes()));
    }
    return out.to(torch::kFloat).cpu();
  }
  // In batches of batch_size, as predict_run runs the model.
  torch::Tensor batched_logits(const torch::Tensor& pixels, int64_t batch_size) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t from = 0; from < pixels.size(0); from += batch_size) {
      parts.push_back(logits(pixels.narrow(0, from, std::min(batch_size, pixels.size(0) - from))));
    }
    return parts.empty() ? torch::zeros({0, static_cast<int64_t>(labels.size())}) : torch::cat(parts);
  }
};

std::shared_ptr<ImageBundle> load_image_bundle(const std::string& bundle_dir, const std::string& device) {
  auto ib = std::make_shared<ImageBundle>();
  ib->b = bundle::load_bundle(bundle_dir, kTask);
  ib->manifest = (fs::path(bundle_dir) / bundle::kManifest).string();
  try {
    ib->labels = bundle::manifest_key(ib->b, "labels").get<std::vector<std::string>>();
    const json& image = bundle::manifest_key(ib->b, "image");
    ib->size = image.at("size").get<int64_t>();
    ib->channels = image.at("channels").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail(ib->manifest, std::string("invalid value: ") + e.what());
  }
  if (ib->labels.empty()) fail(ib->manifest, "labels is empty");
  if (ib->size < 1 || ib->channels < 1) fail(ib->manifest, "image size and channels must be positive");
  ib->device = bundle::place_bundle(ib->b, device);
  return ib;
}

// `count` entries of `item` in the JSON list `value`, or a failure naming where it is.
void expect_list(const json& value, int64_t count, const std::string& item, const std::string& where) {
  if (!value.is_array()) fail(where, "expected a list of " + std::to_string(count) + " " + item + ", got " + value.type_name());
  if (static_cast<int64_t>(value.size()) != count) {
    fail(where, "expected " + std::to_string(count) + " " + item + ", got " + std::to_string(value.size()));
  }
}

// A list of `size` rows of `size` numbers in 0..255, into plane (size, size).
void read_plane(const json& rows, torch::TensorAccessor<float, 2> plane, int64_t size, const std::string& where) {
  expect_list(rows, size, "rows", where);
  for (int64_t y = 0; y < size; ++y) {
    const std::string row_where = where + "[" + std::to_string(y) + "]";
    expect_list(rows[y], size, "pixels", row_where);
    for (int64_t x = 0; x < size; ++x) {
      const json& v = rows[y][x];
      const double p = v.is_number() ? v.get<double>() : -1.0;
      if (!(p >= 0.0 && p <= 255.0)) {
        fail(row_where + "[" + std::to_string(x) + "]", "expected a pixel value in 0..255, got " + v.dump());
      }
      plane[y][x] = static_cast<float>(p);
    }
  }
}

torch::Tensor png_pixels(const json& input, int64_t channels, int64_t size, const std::string& where) {
  if (input.size() != 1 || !input.contains("png") || !input["png"].is_string()) {
    fail(where, "expected {\"png\": \"<base64>\"} as the only key of an image object");
  }
  const torch::Tensor image = formats::decode_png(formats::decode_base64(input["png"].get<std::string>(), where), where);
  if (image.size(2) != channels) {
    fail(where, "the PNG has " + std::to_string(image.size(2)) + " channels, the model takes " +
                    std::to_string(channels) + (channels == 1 ? " (8-bit grey)" : ""));
  }
  if (image.size(0) != size || image.size(1) != size) {
    fail(where, "the PNG is " + size_text(image.size(1), image.size(0)) + ", the model takes " + size_text(size, size));
  }
  return image.permute({2, 0, 1}).to(torch::kFloat).contiguous();
}

}  // namespace

torch::Tensor request_pixels(const json& input, int64_t channels, int64_t size, const std::string& where) {
  if (input.is_object()) return png_pixels(input, channels, size, where);
  if (!input.is_array()) {
    fail(where, "expected an image: a " + size_text(size, size) + " list of pixel rows (0..255) or {\"png\": \"<base64>\"}, got " +
                    input.type_name());
  }
  torch::Tensor pixels = torch::empty({channels, size, size});
  auto planes = pixels.accessor<float, 3>();
  // A list of planes (C, S, S) when its first entry is a list of lists; else one plane.
  const bool has_planes = !input.empty() && input[0].is_array() && !input[0].empty() && input[0][0].is_array();
  if (has_planes) {
    expect_list(input, channels, "channel planes", where);
    for (int64_t c = 0; c < channels; ++c) read_plane(input[c], planes[c], size, where + "[" + std::to_string(c) + "]");
  } else {
    if (channels != 1) fail(where, "expected " + std::to_string(channels) + " channel planes of " + size_text(size, size));
    read_plane(input, planes[0], size, where);
  }
  return pixels;
}

void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size) {
  const auto ib = load_image_bundle(bundle_dir, device);
  if (ib->channels != 1) fail(input_name, "IDX images are grey; this bundle's model takes " + std::to_string(ib->channels) + " channels");
  const torch::Tensor images = read_predict_images(in, input_name, ib->size);
  write_predictions(ib->batched_logits(images.unsqueeze(1), batch_size), ib->labels, out);
}

serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size) {
  const std::shared_ptr<ImageBundle> ib = load_image_bundle(bundle_dir, device);
  serving::Predictor p;
  p.task = kTask;
  p.info = {{"labels", ib->labels}, {"image_size", ib->size}, {"channels", ib->channels}, {"device", ib->device.str()}};
  p.check = [ib](const json& input, const std::string& where) { request_pixels(input, ib->channels, ib->size, where); };
  p.run = [ib, batch_size](const std::vector<json>& inputs) {
    std::vector<torch::Tensor> pixels;
    for (size_t i = 0; i < inputs.size(); ++i) {
      pixels.push_back(request_pixels(inputs[i], ib->channels, ib->size, "inputs[" + std::to_string(i) + "]"));
    }
    return classification::prediction_rows(torch::softmax(ib->batched_logits(torch::stack(pixels), batch_size), 1),
                                           ib->labels);
  };
  return p;
}

}  // namespace attune::image_classification
