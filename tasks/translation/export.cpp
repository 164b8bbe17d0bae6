#include "tasks/translation/export.h"

#include "core/error.h"
#include "core/files.h"
#include "data/readers/parallel.h"
#include "models/common/parameters.h"
#include "models/seq2seq/config.h"
#include "models/seq2seq/script_export.h"
#include "tasks/bundle/bundle.h"
#include "core/config.h"
#include "tasks/engine/settings.h"
#include "tasks/translation/task.h"
#include "tasks/translation/translate.h"

#include <filesystem>

namespace fs = std::filesystem;
using nlohmann::json;

namespace attune::translation {
namespace {

const char* kTask = "translation";

std::vector<torch::Tensor> tensors_of(const c10::IValue& list) {
  std::vector<torch::Tensor> out;
  for (const c10::IValue& v : list.toListRef()) out.push_back(v.toTensor());
  return out;
}

// The script against the model on a small fixed batch: logits of a few decoder steps
// through the cache against the model's teacher-forced logits.
double self_check(models::Seq2SeqTransformer& model, torch::jit::Module& module, int64_t pad_id) {
  torch::NoGradGuard no_grad;
  const int64_t vocab = model->options().vocab_size(), steps = std::min<int64_t>(4, model->options().max_positions());
  const auto ids = [&](int64_t rows, int64_t length, int64_t salt) {
    torch::Tensor t = (torch::arange(rows * length, torch::kLong) * 7 + salt).remainder(vocab - 1) + 1;
    return t.masked_fill(t.eq(pad_id), (pad_id + 1) % vocab).view({rows, length});
  };
  torch::Tensor src = ids(2, std::min<int64_t>(6, model->options().max_positions()), 3);
  src[1].narrow(0, src.size(1) - 2, 2).fill_(pad_id);
  const torch::Tensor tgt = ids(2, steps, 5);
  const torch::Tensor expected = model->forward(src, tgt);
  ScriptStepModel step(module, model->options().max_positions());
  step.start(src);
  double diff = 0;
  for (int64_t t = 0; t < steps; ++t) {
    const torch::Tensor got = step.next_logits(tgt.slice(1, t, t + 1));
    diff = std::max(diff, (got - expected.select(1, t)).abs().max().item<double>());
  }
  return diff;
}

}  // namespace

namespace {

std::vector<int64_t> real_lengths(const torch::Tensor& source_mask) {
  const torch::Tensor lengths = source_mask.flatten(1).sum(1).to(torch::kCPU, torch::kLong).contiguous();
  return std::vector<int64_t>(lengths.data_ptr<int64_t>(), lengths.data_ptr<int64_t>() + lengths.numel());
}

// t with `extra` zeros (false for masks) appended along dim, before its columns when front.
torch::Tensor pad_along(const torch::Tensor& t, int64_t dim, int64_t extra, bool front) {
  if (extra <= 0) return t;
  std::vector<int64_t> shape = t.sizes().vec();
  shape[static_cast<size_t>(dim)] = extra;
  const torch::Tensor zeros = torch::zeros(shape, t.options());
  return front ? torch::cat({zeros, t}, dim) : torch::cat({t, zeros}, dim);
}

}  // namespace

ScriptStepModel::ScriptStepModel(torch::jit::Module module, int64_t max_positions)
    : module_(std::move(module)), max_positions_(max_positions),
      by_rows_(module_.find_method("decode_rows").has_value()) {}

void ScriptStepModel::start(const torch::Tensor& src_ids) {
  const auto encoded = module_.get_method("encode")({src_ids}).toTuple();
  source_mask_ = encoded->elements()[1].toTensor();
  cache_ = tensors_of(module_.get_method("init_cache")({encoded->elements()[0].toTensor()}));
  positions_.assign(static_cast<size_t>(src_ids.size(0)), 0);
  source_lengths_ = real_lengths(source_mask_);
}

void ScriptStepModel::join(const torch::Tensor& src_ids) {
  TORCH_CHECK(by_rows_, "this bundle's model has no decode_rows (exported by an older attune): re-export it to "
                        "batch continuously");
  const auto encoded = module_.get_method("encode")({src_ids}).toTuple();
  torch::Tensor mask = encoded->elements()[1].toTensor();
  std::vector<torch::Tensor> cache = tensors_of(module_.get_method("init_cache")({encoded->elements()[0].toTensor()}));
  // Sources are padded at the back to one length; the newcomers' empty targets at the
  // front to the running rows' cache length.
  const int64_t source = std::max(source_mask_.size(3), mask.size(3));
  source_mask_ = pad_along(source_mask_, 3, source - source_mask_.size(3), false);
  mask = pad_along(mask, 3, source - mask.size(3), false);
  source_mask_ = torch::cat({source_mask_, mask}, 0);
  for (size_t i = 0; i < cache_.size(); ++i) {
    torch::Tensor& old = cache_[i];
    torch::Tensor fresh = cache[i];
    if (i % 4 < 2) {
      fresh = pad_along(fresh, 2, old.size(2) - fresh.size(2), true);
    } else {
      old = pad_along(old, 2, source - old.size(2), false);
      fresh = pad_along(fresh, 2, source - fresh.size(2), false);
    }
    old = torch::cat({old, fresh}, 0);
  }
  positions_.resize(positions_.size() + static_cast<size_t>(src_ids.size(0)), 0);
  const std::vector<int64_t> lengths = real_lengths(mask);
  source_lengths_.insert(source_lengths_.end(), lengths.begin(), lengths.end());
}

torch::Tensor ScriptStepModel::next_logits(const torch::Tensor& tokens) {
  c10::IValue out;
  if (by_rows_) {
    TORCH_CHECK(tokens.size(1) == 1, "decode_rows takes one token a row");
    const torch::Tensor positions = torch::tensor(positions_, torch::kLong).to(tokens.device());
    out = module_.get_method("decode_rows")({tokens, positions, source_mask_, c10::List<torch::Tensor>(cache_)});
    for (int64_t& p : positions_) ++p;
  } else {
    out = module_.get_method("decode_step")({tokens, source_mask_, c10::List<torch::Tensor>(cache_)});
  }
  const auto tuple = out.toTuple();
  cache_ = tensors_of(tuple->elements()[1]);
  const torch::Tensor logits = tuple->elements()[0].toTensor();
  return logits.select(1, logits.size(1) - 1);
}

void ScriptStepModel::select(const torch::Tensor& rows) {
  source_mask_ = source_mask_.index_select(0, rows);
  for (torch::Tensor& t : cache_) t = t.index_select(0, rows);
  const torch::Tensor host = rows.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<int64_t> positions, lengths;
  for (int64_t i = 0; i < host.numel(); ++i) {
    const int64_t r = host.data_ptr<int64_t>()[i];
    positions.push_back(positions_.at(static_cast<size_t>(r)));
    lengths.push_back(source_lengths_.at(static_cast<size_t>(r)));
  }
  positions_ = std::move(positions);
  source_lengths_ = std::move(lengths);
  trim();
}

void ScriptStepModel::trim() {
  if (!by_rows_ || positions_.empty()) return;
  const int64_t target = *std::max_element(positions_.begin(), positions_.end());
  const int64_t source = *std::max_element(source_lengths_.begin(), source_lengths_.end());
  for (size_t i = 0; i < cache_.size(); ++i) {
    torch::Tensor& t = cache_[i];
    if (i % 4 < 2 && t.size(2) > target) t = t.narrow(2, t.size(2) - target, target);
    if (i % 4 >= 2 && t.size(2) > source) t = t.narrow(2, 0, source);
  }
  if (source_mask_.size(3) > source) source_mask_ = source_mask_.narrow(3, 0, source);
}

json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite, bool int8) {
  // The export runs on the CPU: bundles are device-neutral (torch::jit::load places them).
  LoadedRun run = load_run(run_dir, {}, "cpu");
  // A PEFT run's adapter is folded into the weights where it is linear in them; the
  // others (bottleneck adapters) are scripted as they are.
  const json peft = run.peft ? run.peft->merge_for_export() : json{{"method", nullptr}, {"merged", false}};
  const auto& tokenizer = run.tokenizer;
  models::Seq2SeqTransformer& model = run.model;
  script::ClassNames names;
  names.dynamic_int8 = int8;
  const std::string engine = int8 ? script::use_int8_engine() : "";
  torch::jit::Module module = models::script_seq2seq(*model, names);
  const double max_diff = self_check(model, module, tokenizer->pad_id());
  TORCH_CHECK(int8 || max_diff < 1e-4, "export: the scripted model differs from the run's by ", max_diff);

  const SpecialIds ids = special_ids(*tokenizer);
  const DecodeOptions decode = decode_options(run.typed.decode, ids, /*for_validation=*/false);
  const int64_t parameters = models::parameter_count(*model);
  const models::Seq2SeqOptions& o = model->options();
  json manifest = bundle::base_manifest(kTask);
  manifest["model"] = {{"file", bundle::kModel}, {"format", "torchscript"}, {"dtype", int8 ? "int8-dynamic" : "float32"},
                       {"methods", {"encode", "init_cache", "decode_step", "decode_rows"}}, {"parameters", parameters},
                       {"max_positions", o.max_positions()}, {"decoder_layers", o.decoder_layers()},
                       {"num_heads", o.num_heads()}, {"d_model", o.d_model()}, {"vocab_size", o.vocab_size()}};
  manifest["inputs"] = json::array({{{"name", "src_ids"}, {"dtype", "int64"}, {"shape", {"batch", "source_length"}},
                                     {"values", "SentencePiece ids then EOS, padded with pad_id"}}});
  manifest["outputs"] = json::array({{{"name", "logits"}, {"dtype", "float32"},
                                      {"shape", {"batch", "steps", o.vocab_size()}}, {"method", "decode_step"}}});
  manifest["usage"] =
      "memory, source_mask = encode(src_ids); cache = init_cache(memory); then per step: logits, cache = "
      "decode_step(tokens (B,T), source_mask, cache), starting with bos_id; beam search reorders rows with "
      "index_select(0, rows) on source_mask and every cache tensor";
  manifest["special_ids"] = {{"pad_id", ids.pad}, {"bos_id", ids.bos}, {"eos_id", ids.eos}};
  manifest["decode"] = {{"beam_size", decode.beam_size}, {"length_penalty", decode.length_penalty},
                        {"max_length_ratio", decode.max_length_ratio}, {"max_length_extra", decode.max_length_extra}};
  manifest["tokenizer"] = {{"kind", tokenizer->kind()}, {"dir", "tokenizer"}};
  if (int8) manifest["model"]["quantized_engine"] = engine;
  manifest["peft"] = peft;

  bundle::write_run_bundle(out_dir, overwrite, manifest, module, run_dir);
  return {{"run_dir", run_dir}, {"bundle", out_dir}, {"task", kTask}, {"parameters", parameters},
          {"torch_version", bundle::torch_version()}, {"check_max_abs_diff", max_diff}, {"peft", peft}};
}

namespace {

struct TranslationBundle {
  bundle::Bundle b;
  std::shared_ptr<text::TranslationTokenizer> tokenizer;
  DecodeOptions decode;
  int64_t max_tokens = 0;
  int64_t max_positions = 0;
  torch::Device device = torch::kCPU;

  std::vector<std::string> translate(const std::vector<std::string>& lines) {
    ScriptStepModel step(b.module, max_positions);
    return translate_lines(step, *tokenizer, lines, decode, max_tokens, device);
  }
};

std::shared_ptr<TranslationBundle> load_translation_bundle(const std::string& bundle_dir, const std::string& device) {
  auto tb = std::make_shared<TranslationBundle>();
  tb->b = bundle::load_bundle(bundle_dir, kTask);
  const std::string manifest = (fs::path(bundle_dir) / bundle::kManifest).string();
  try {
    tb->max_positions = bundle::manifest_key(tb->b, "model").at("max_positions").get<int64_t>();
  } catch (const json::exception& e) {
    fail(manifest, std::string("model.max_positions: ") + e.what());
  }
  const std::string tokenizer_dir = bundle::bundle_path(tb->b, "tokenizer", "tokenizer.dir");
  tb->tokenizer = text::load_translation_tokenizer(tokenizer_dir);
  const Config config = parse_config(tb->b.config);
  tb->decode = decode_options(config.decode, special_ids(*tb->tokenizer), /*for_validation=*/false);
  tb->max_tokens = config.translation_train.eval_max_tokens;
  tb->device = bundle::place_bundle(tb->b, device);
  return tb;
}

// Continuous batching over a bundle: every input is a sentence, which beam search takes
// up between two steps and gives back at the step it ends.
class TranslationStepper : public serving::Stepper {
 public:
  explicit TranslationStepper(std::shared_ptr<TranslationBundle> tb)
      : tb_(std::move(tb)), model_(tb_->b.module, tb_->max_positions), search_(model_, tb_->decode) {}

  void join(const std::vector<json>& inputs, const std::vector<int64_t>& ids) override {
    const SpecialIds special = special_ids(*tb_->tokenizer);
    std::vector<std::vector<int64_t>> rows;
    std::vector<int64_t> row_ids;
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::vector<int64_t> source = source_ids(*tb_->tokenizer, inputs[i].get<std::string>(), tb_->max_positions, special.eos);
      if (source.empty()) {
        ended_.emplace_back(ids[i], json{{"translation", ""}});
        continue;
      }
      rows.push_back(std::move(source));
      row_ids.push_back(ids[i]);
    }
    if (rows.empty()) return;
    torch::NoGradGuard no_grad;
    search_.add(pad_sources(rows, special.pad).to(tb_->device), row_ids);
  }

  std::vector<std::pair<int64_t, json>> step() override {
    std::vector<std::pair<int64_t, json>> ended = std::move(ended_);
    ended_.clear();
    for (BeamSearch::Finished& f : search_.step()) {
      ended.emplace_back(f.id, json{{"translation", tb_->tokenizer->decode_target(f.tokens)}});
    }
    return ended;
  }

  void reset() override {
    ended_.clear();
    search_ = BeamSearch(model_, tb_->decode);
  }

 private:
  std::shared_ptr<TranslationBundle> tb_;
  ScriptStepModel model_;
  BeamSearch search_;
  std::vector<std::pair<int64_t, json>> ended_;  // blank inputs, answered at the next step
};

}  // namespace

void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size) {
  (void)input_name;
  (void)batch_size;  // batches are cut by tokens (train.eval_max_tokens)
  const auto tb = load_translation_bundle(bundle_dir, device);
  for (const std::string& t : tb->translate(data::read_text_lines(in))) out << t << "\n";
  out.flush();
}

serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size) {
  (void)batch_size;
  const std::shared_ptr<TranslationBundle> tb = load_translation_bundle(bundle_dir, device);
  serving::Predictor p;
  p.task = kTask;
  p.info = {{"decode", tb->b.manifest.value("decode", json::object())}, {"device", tb->device.str()}};
  p.check = [](const json& input, const std::string& where) {
    if (!input.is_string()) fail(where, "expected a sentence (a string), got " + std::string(input.type_name()));
  };
  p.run = [tb](const std::vector<json>& inputs) {
    std::vector<std::string> lines;
    for (const json& j : inputs) lines.push_back(j.get<std::string>());
    std::vector<json> out;
    for (const std::string& t : tb->translate(lines)) out.push_back({{"translation", t}});
    return out;
  };
  if (ScriptStepModel(tb->b.module, tb->max_positions).can_join()) {
    p.stepper = [tb] { return std::make_unique<TranslationStepper>(tb); };
  }
  return p;
}

}  // namespace attune::translation
