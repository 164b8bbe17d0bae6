#include "tasks/classification/task.h"

#include "tasks/engine/peft_run.h"
#include "models/common/parameters.h"
#include "tasks/classification/metrics.h"
#include "tasks/classification/run_model.h"

#include "data/batching.h"
#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/text/factory.h"
#include "models/transformer/encoder_attention.h"
#include "models/peft/config.h"
#include "core/config.h"
#include "tasks/classification/config.h"
#include "tasks/classification/hf_families.h"
#include "tasks/engine/train_config.h"
#include "tasks/engine/settings.h"

#include <filesystem>
#include <optional>
#include <iostream>
#include <limits>

namespace fs = std::filesystem;

namespace attune::classification {
namespace {

std::vector<const text::Encoding*> pointers(const std::vector<text::Encoding>& encodings,
                                            const std::vector<int64_t>& batch) {
  std::vector<const text::Encoding*> out;
  out.reserve(batch.size());
  for (int64_t i : batch) out.push_back(&encodings[i]);
  return out;
}

std::vector<int64_t> lengths_of(const std::vector<text::Encoding>& encodings) {
  std::vector<int64_t> lengths;
  lengths.reserve(encodings.size());
  for (const auto& e : encodings) lengths.push_back(static_cast<int64_t>(e.ids.size()));
  return lengths;
}

// The model's inputs on `device`: {ids, token types, mask, context}. A batch without
// padding goes in without a mask (undefined): attention then runs in the fused flash
// kernel on CUDA, which any mask rules out. Context is undefined when there is none.
std::vector<torch::Tensor> model_inputs(const data::TokenBatch& tb, const torch::Device& device) {
  return {tb.input_ids.to(device), tb.token_type_ids.to(device),
          tb.padded ? tb.attention_mask.to(device) : torch::Tensor(),
          tb.context.defined() ? tb.context.to(device) : torch::Tensor()};
}

torch::Tensor forward_inputs(TextClassifier& model, const std::vector<torch::Tensor>& in) {
  return model->forward(in[0], in[1], in[2], in[3]);
}

torch::Tensor forward_batch(TextClassifier& model, const data::TokenBatch& tb, const torch::Device& device) {
  return forward_inputs(model, model_inputs(tb, device));
}

data::TokenBatch collate_batch(const std::vector<text::Encoding>& encodings, const torch::Tensor& context,
                               const std::vector<int64_t>& batch, int64_t pad_id) {
  data::TokenBatch tb = data::collate(pointers(encodings, batch), pad_id);
  if (context.defined()) tb.context = context.index_select(0, torch::tensor(batch));
  return tb;
}

}  // namespace

ColumnSpec column_spec(const nlohmann::json& config, bool with_label) {
  return column_spec(config::parse<DataConfig>(config::at_field(config, "data", ""), "data"), with_label);
}

ClassificationTask::ClassificationTask(TextClassifier model, std::shared_ptr<peft::PeftModel> peft, Examples train,
                                       Examples valid, std::vector<std::string> labels, int64_t pad_id,
                                       int64_t batch_size, int64_t eval_batch_size, bool bucket)
    : engine::PeftTrainTask(std::move(peft), kPeftTaskType),
      model_(std::move(model)),
      train_(std::move(train)),
      valid_(std::move(valid)),
      labels_(std::move(labels)),
      pad_id_(pad_id),
      batch_size_(batch_size),
      eval_batch_size_(eval_batch_size),
      bucket_(bucket),
      train_lengths_(lengths_of(train_.encodings)),
      train_context_(context_tensor(train_)) {}

engine::BatchPlan ClassificationTask::train_plan(int64_t epoch, uint64_t seed) {
  return data::make_batches(train_lengths_, batch_size_, /*shuffle=*/true, bucket_,
                            seed * 1000003ULL + static_cast<uint64_t>(epoch));
}

torch::Tensor ClassificationTask::train_loss(const std::vector<int64_t>& batch, const torch::Device& device) {
  return graph_loss(graph_inputs(batch, device));
}

bool ClassificationTask::supports_cuda_graphs() const { return peft_capturable(); }

std::vector<torch::Tensor> ClassificationTask::graph_inputs(const std::vector<int64_t>& batch,
                                                            const torch::Device& device) {
  std::vector<torch::Tensor> inputs = model_inputs(collate_batch(train_.encodings, train_context_, batch, pad_id_), device);
  std::vector<int64_t> targets;
  for (int64_t i : batch) targets.push_back(train_.labels[i]);
  inputs.push_back(torch::tensor(targets).to(device));
  return inputs;
}

torch::Tensor ClassificationTask::graph_loss(const std::vector<torch::Tensor>& in) {
  const torch::Tensor logits = forward_inputs(model_, in);
  torch::Tensor loss = with_peft_regularizer(torch::nn::functional::cross_entropy(logits.to(torch::kFloat), in[4]));
  const torch::Tensor pooling_reg = model_->regularizer();
  if (pooling_reg.defined()) loss = loss + pooling_reg;
  return loss;
}

int64_t ClassificationTask::batch_size_of(const std::vector<int64_t>& batch) const {
  return static_cast<int64_t>(batch.size());
}

nlohmann::json ClassificationTask::evaluate(const torch::Device& device, const engine::EvalShard& shard) {
  return evaluate_examples(model_, valid_, labels_, pad_id_, eval_batch_size_, device, shard);
}

torch::Tensor predict_probabilities(TextClassifier& model, const Examples& examples, int64_t pad_id,
                                    int64_t batch_size, const torch::Device& device, const engine::EvalShard& shard,
                                    int64_t classes) {
  return predict_probabilities(
      examples, pad_id, batch_size, [&](const data::TokenBatch& tb) { return forward_batch(model, tb, device); },
      shard, classes);
}

torch::Tensor predict_probabilities(const Examples& examples, int64_t pad_id, int64_t batch_size,
                                    const BatchLogits& logits, const engine::EvalShard& shard, int64_t classes) {
  const std::vector<text::Encoding>& encodings = examples.encodings;
  const torch::Tensor context = context_tensor(examples);
  torch::NoGradGuard no_grad;
  const auto batches = data::make_batches(lengths_of(encodings), batch_size, /*shuffle=*/false, /*bucket=*/true, 0);
  const auto n = static_cast<int64_t>(encodings.size());
  torch::Tensor probs;
  if (classes > 0 && shard.world() > 1) probs = torch::zeros({n, classes});
  for (size_t b = 0; b < batches.size(); ++b) {
    if (!shard.owns(static_cast<int64_t>(b))) continue;
    const data::TokenBatch tb = collate_batch(encodings, context, batches[b], pad_id);
    const torch::Tensor p = torch::softmax(logits(tb).to(torch::kFloat), -1).cpu();
    if (!probs.defined()) probs = torch::zeros({n, p.size(1)});
    probs.index_copy_(0, torch::tensor(batches[b]), p);
  }
  if (shard.world() > 1) {
    TORCH_CHECK(probs.defined(), "predict_probabilities: a sharded call needs the number of classes");
    probs = shard.combine(probs);
  }
  return probs;
}

nlohmann::json evaluate_examples(TextClassifier& model, const Examples& examples,
                                 const std::vector<std::string>& labels, int64_t pad_id, int64_t batch_size,
                                 const torch::Device& device, const engine::EvalShard& shard) {
  const torch::Tensor probs = predict_probabilities(model, examples, pad_id, batch_size, device, shard,
                                                    static_cast<int64_t>(labels.size()));
  const torch::Tensor truth = torch::tensor(examples.labels);
  const torch::Tensor predicted = probs.argmax(1);
  const double loss =
      torch::nll_loss(torch::log(probs.clamp_min(1e-12)), truth).item<double>();
  nlohmann::json m = classification_metrics(
      std::vector<int64_t>(predicted.data_ptr<int64_t>(), predicted.data_ptr<int64_t>() + predicted.numel()),
      examples.labels, labels);
  m["loss"] = loss;
  return m;
}

void check_run_config(const nlohmann::json& config) {
  // Cheap checks, so a typo fails before minutes of tokenizer training.
  const Config c = parse_config(config);
  if (c.data.train.empty()) fail("data.train", "no training file given (set data.train)");
}

engine::Prepared prepare_run(engine::Run& run) {
  nlohmann::json& config = run.config();
  const engine::TrainOptions& options = run.options();
  const engine::RunDir& dir = run.dir();
  std::ostream& log = run.log();
  const bool resume = run.resuming();

  Config c = parse_config(config);
  const ColumnSpec columns = column_spec(c.data, true);
  const std::string& train_path = c.data.train;
  const std::string& test_path = c.data.test;
  const int64_t max_length = c.data.max_length;

  // The encoder reads one context value per context column; the attention switches the
  // user set are kept when an init encoder replaces the model section below.
  if (!resume) {
    config["model"]["context_size"] = static_cast<int64_t>(columns.context.size());
    c.model = config["model"];
  }
  nlohmann::json switches = nlohmann::json::object();
  for (const auto& key : models::encoder_attention_fields()) {
    if (config["model"].contains(key)) switches[key] = config["model"][key];
  }
  Examples train = read_examples(train_path, columns);
  Examples valid = c.data.valid.empty() ? split_off(train, c.data.valid_fraction, options.seed)
                                        : read_examples(c.data.valid, columns);

  std::unique_ptr<text::Tokenizer> tokenizer;
  std::vector<std::string> labels;
  const std::string init_dir = c.init;
  std::optional<InitEncoder> init;
  if (!init_dir.empty() && !resume) {
    init = load_init_encoder(init_dir);
    // The architecture is the init run's; the user's model section cannot change it, but
    // the dropout rates it sets are training choices and apply.
    const nlohmann::json hidden_dropout = config["model"].value("dropout", nlohmann::json());
    const nlohmann::json attention_dropout = config["model"].value("attention_dropout", nlohmann::json());
    config["model"] = init->model_config;
    hf::set_dropout_rates(config["model"], hidden_dropout, attention_dropout);
    if (init->model_config.value("name", std::string()) == "bert") {
      config["model"].update(switches);
    } else {
      // attune's attention switches belong to the BERT body: another family refuses any
      // the user set away from its default.
      models::drop_default_encoder_attention(switches);
      if (!switches.empty()) {
        fail("model." + switches.begin().key(), "is an attention switch of BERT-family encoders; the init encoder is " +
                                                    init->model_config.value("name", std::string()));
      }
    }
    c = parse_config(config);
    log << "init: encoder and tokenizer from " << init_dir << "\n";
    if (!init->weights.tensors.count("pooler.dense.weight") && !init->weights.tensors.count("head.dense.weight")) {
      log << "init: no pooler there; it starts untrained\n";
    }
  }
  if (resume) {
    tokenizer = text::load_tokenizer(dir.tokenizer());
    labels = load_label_map(dir.labels());
  } else {
    if (init) {
      tokenizer = std::move(init->tokenizer);
    } else {
      std::vector<std::string> corpus = train.texts;
      corpus.insert(corpus.end(), train.pairs.begin(), train.pairs.end());
      log << "tokenizer: " << c.tokenizer.type << " from " << train_path << "\n";
      tokenizer = text::make_tokenizer(c.tokenizer, corpus, dir.tokenizer());
    }
    tokenizer->save(dir.tokenizer());
    labels = build_label_map(train);
    if (labels.size() < 2) fail(train_path, "needs at least two distinct labels in column '" + columns.label + "'");
    save_label_map(dir.labels(), labels);
  }
  map_labels(train, labels);
  map_labels(valid, labels);
  tokenize(train, *tokenizer, max_length);
  tokenize(valid, *tokenizer, max_length);

  torch::manual_seed(options.seed);
  const bool peft_run = peft_enabled(c);
  // On resume the encoder comes from the run itself (its checkpoint, or for PEFT its base file).
  RunModel built = build_run_model(c, tokenizer->vocab_size(), static_cast<int64_t>(labels.size()),
                                   resume && peft_run ? dir.base_weights() : "", init ? &init->weights : nullptr);
  TextClassifier model = built.model;
  if (!resume && !columns.context.empty()) model->set_context_stats(context_tensor(train));
  model->to(options.device);
  if (!resume) {
    // The saved config rebuilds exactly this model: presets resolved to sizes, PEFT
    // defaults filled in.
    config["model"] = model->encoder().config();
    if (peft_run) engine::save_peft_start(dir.path(), config, *built.peft);
    run.save_config();
  }
  const int64_t params = models::parameter_count(*model);
  log << "data: " << train.size() << " train / " << valid.size() << " valid examples, " << labels.size()
      << " labels; model: " << params << " parameters on " << options.device << "\n";
  if (peft_run) log << "peft: " << config["peft"]["method"].get<std::string>() << ", " << built.peft->count().describe() << "\n";

  engine::Prepared prepared;
  const int64_t pad_id = tokenizer->pad_id();
  prepared.trainer = std::make_unique<ClassificationTask>(model, built.peft, std::move(train), valid, labels, pad_id,
                                                          c.train.batch_size, c.train.eval_batch_size,
                                                          c.train.bucket_by_length);
  if (!test_path.empty()) {
    std::shared_ptr<text::Tokenizer> shared_tokenizer = std::move(tokenizer);
    const std::string run_dir = dir.path();
    const torch::Device device = options.device;
    prepared.finish = [=](nlohmann::json& summary) mutable {
      Examples test = read_examples(test_path, columns);
      map_labels(test, labels);
      tokenize(test, *shared_tokenizer, max_length);
      if (peft_run) {
        // A PEFT run is reloaded as eval loads it: the saved base plus the best adapter.
        LoadedRun best = load_run(run_dir, {}, device.str());
        model = best.model.model;
      }
      model->eval();
      summary["test"] = evaluate_examples(model, test, labels, pad_id, c.train.eval_batch_size, device);
    };
  }
  return prepared;
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device,
                            const std::vector<std::string>& adapters) {
  LoadedRun run = load_run(run_dir, overrides, device, adapters);
  TextClassifier& model = run.model.model;
  Examples examples = read_examples(data_path, column_spec(run.typed.data, true));
  if (examples.size() == 0) fail(data_path, "no examples");
  map_labels(examples, run.labels);
  tokenize(examples, *run.tokenizer, run.max_length);
  const int64_t batch_size = run.typed.train.eval_batch_size;
  const torch::Device dev = model->parameters().front().device();
  nlohmann::json m = evaluate_examples(model, examples, run.labels, run.tokenizer->pad_id(), batch_size, dev);
  m["data"] = data_path;
  return m;
}

nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir,
                         const std::vector<std::string>& adapters) {
  LoadedRun run = load_run(run_dir, {}, "cpu", adapters);
  return engine::write_merged_run(run_dir, out_dir, run.config, run.model.peft.get(), *run.model.model,
                                  {"tokenizer", "labels.json"});
}

void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size, const std::vector<std::string>& adapters) {
  LoadedRun run = load_run(run_dir, {}, device, adapters);
  TextClassifier& model = run.model.model;
  const torch::Device dev = model->parameters().front().device();
  predict_lines(in, input_name, out, column_spec(run.typed.data, false), *run.tokenizer, run.max_length, run.labels,
                batch_size, [&](const data::TokenBatch& tb) { return forward_batch(model, tb, dev); });
}

void add_input(Examples& examples, const nlohmann::json& input, const ColumnSpec& columns, const std::string& where) {
  if (input.is_object()) {
    auto field = [&](const std::string& key) {
      if (!input.contains(key)) fail(where, "missing key '" + key + "'");
      return input[key].is_string() ? input[key].get<std::string>() : input[key].dump();
    };
    examples.texts.push_back(field(columns.text));
    if (!columns.text_pair.empty()) examples.pairs.push_back(field(columns.text_pair));
    if (!columns.context.empty()) {
      std::vector<float> values;
      for (const auto& name : columns.context) values.push_back(parse_context_value(field(name), name, where));
      examples.context.push_back(std::move(values));
    }
  } else if (input.is_string()) {
    if (!columns.context.empty()) {
      std::string keys = "'" + columns.text + "'";
      for (const auto& name : columns.context) keys += ", '" + name + "'";
      fail(where, "this run's attention reads context columns: give objects with " + keys);
    }
    if (!columns.text_pair.empty()) {
      fail(where, "this run classifies text pairs: give objects with '" + columns.text + "' and '" + columns.text_pair + "'");
    }
    examples.texts.push_back(input.get<std::string>());
  } else {
    fail(where, "expected a text or an object with '" + columns.text + "', got " + std::string(input.type_name()));
  }
  examples.where.push_back(where);
}

std::vector<nlohmann::json> prediction_rows(const torch::Tensor& probabilities, const std::vector<std::string>& labels) {
  const torch::Tensor probs = probabilities.to(torch::kCPU, torch::kDouble).contiguous();
  const auto p = probs.accessor<double, 2>();
  std::vector<nlohmann::json> rows;
  for (int64_t i = 0; i < probs.size(0); ++i) {
    int64_t best = 0;
    nlohmann::json named = nlohmann::json::object();
    for (size_t c = 0; c < labels.size(); ++c) {
      named[labels[c]] = p[i][c];
      if (p[i][c] > p[i][best]) best = static_cast<int64_t>(c);
    }
    rows.push_back({{"label", labels[best]}, {"probabilities", named}});
  }
  return rows;
}

void predict_lines(std::istream& in, const std::string& input_name, std::ostream& out, const ColumnSpec& columns,
                   const text::Tokenizer& tokenizer, int64_t max_length, const std::vector<std::string>& labels,
                   int64_t batch_size, const BatchLogits& logits) {
  Examples chunk;
  auto flush = [&]() {
    if (chunk.size() == 0) return;
    tokenize(chunk, tokenizer, max_length);
    for (const auto& row : prediction_rows(predict_probabilities(chunk, tokenizer.pad_id(), batch_size, logits), labels)) {
      out << row.dump() << "\n";
    }
    out.flush();
    chunk = Examples();
  };
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = at_line(input_name, line_no);
    if (!line.empty() && line[0] == '{') {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) fail(where, "invalid JSON line");
      add_input(chunk, j, columns, where);
    } else {
      add_input(chunk, nlohmann::json(line), columns, where);
    }
    if (static_cast<int64_t>(chunk.size()) >= 16 * batch_size) flush();
  }
  flush();
}

}  // namespace attune::classification
