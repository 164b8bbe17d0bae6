// Text classification as a training task for the engine, and the three things a
// user does with it: train a run, evaluate a run on a labelled file, predict labels.
#pragma once
#include "data/batching.h"
#include "tasks/classification/config.h"
#include "tasks/classification/examples.h"
#include "tasks/classification/model.h"
#include "models/peft/peft_model.h"
#include "tasks/engine/peft_run.h"
#include "tasks/engine/run.h"
#include "tasks/engine/task.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <istream>
#include <ostream>

namespace attune::classification {

class ClassificationTask : public engine::PeftTrainTask {
 public:
  // peft: the model's adapters when only they are trained, else null.
  ClassificationTask(TextClassifier model, std::shared_ptr<peft::PeftModel> peft, Examples train, Examples valid,
                     std::vector<std::string> labels, int64_t pad_id, int64_t batch_size, int64_t eval_batch_size,
                     bool bucket);
  std::shared_ptr<torch::nn::Module> model() override { return model_.ptr(); }
  engine::BatchPlan train_plan(int64_t epoch, uint64_t seed) override;
  torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device& device) override;
  bool supports_cuda_graphs() const override;
  // {ids, token types, attention mask (undefined without padding), context (or undefined), labels}
  std::vector<torch::Tensor> graph_inputs(const std::vector<int64_t>& batch, const torch::Device& device) override;
  torch::Tensor graph_loss(const std::vector<torch::Tensor>& inputs) override;
  int64_t batch_size_of(const std::vector<int64_t>& batch) const override;
  nlohmann::json evaluate(const torch::Device& device, const engine::EvalShard& shard) override;

 private:
  TextClassifier model_;
  Examples train_, valid_;
  std::vector<std::string> labels_;
  int64_t pad_id_, batch_size_, eval_batch_size_;
  bool bucket_;
  std::vector<int64_t> train_lengths_;
  torch::Tensor train_context_;  // (N, C) or undefined
};

// The columns a run config reads (the label column only when with_label).
ColumnSpec column_spec(const nlohmann::json& config, bool with_label);

// Logits (B, C) of one padded batch, from whatever runs the model (attune's module, a bundle's TorchScript).
using BatchLogits = std::function<torch::Tensor(const data::TokenBatch& batch)>;

// Class probabilities (N, C) for tokenized examples, in their order. The model must
// be in eval mode on `device`. Sharded, this rank computes its batches and the rows come
// together on every rank; `classes` (C) is then needed for a rank that owns no batch.
torch::Tensor predict_probabilities(TextClassifier& model, const Examples& examples, int64_t pad_id,
                                    int64_t batch_size, const torch::Device& device,
                                    const engine::EvalShard& shard = {}, int64_t classes = 0);
// The same batching (length-bucketed, in batches of batch_size) with any model.
torch::Tensor predict_probabilities(const Examples& examples, int64_t pad_id, int64_t batch_size,
                                    const BatchLogits& logits, const engine::EvalShard& shard = {},
                                    int64_t classes = 0);

// Metrics (with loss) of labelled, tokenized examples.
nlohmann::json evaluate_examples(TextClassifier& model, const Examples& examples,
                                 const std::vector<std::string>& labels, int64_t pad_id, int64_t batch_size,
                                 const torch::Device& device, const engine::EvalShard& shard = {});

// The checks of a run config that need no data (engine::Recipe::check).
void check_run_config(const nlohmann::json& config);
// Reads the data, builds the tokenizer and the classifier (engine::Recipe::prepare).
engine::Prepared prepare_run(engine::Run& run);
// adapters: extra PEFT adapter directories to load on the run's base; the last is used.
nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device,
                            const std::vector<std::string>& adapters = {});
// Merges the run's adapter (or the last of `adapters`) into its base and writes a run
// directory with full weights that eval and predict use as any other; returns a summary.
nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir,
                         const std::vector<std::string>& adapters);

// Reads one text per line (plain text, or JSONL objects with the run's text columns)
// and writes one JSON line per input with the label and class probabilities.
void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size, const std::vector<std::string>& adapters = {});
// Appends one input to predict: a text, or an object with the run's text column(s).
// Anything else fails naming `where`.
void add_input(Examples& examples, const nlohmann::json& input, const ColumnSpec& columns, const std::string& where);
// {"label", "probabilities": {label: p}} for each row of (N, C) class probabilities.
std::vector<nlohmann::json> prediction_rows(const torch::Tensor& probabilities, const std::vector<std::string>& labels);
// predict_run's reading and writing around any model: texts (or JSONL with `columns`'
// keys) in, one {"label", "probabilities"} line out per input, in input order.
void predict_lines(std::istream& in, const std::string& input_name, std::ostream& out, const ColumnSpec& columns,
                   const text::Tokenizer& tokenizer, int64_t max_length, const std::vector<std::string>& labels,
                   int64_t batch_size, const BatchLogits& logits);

}  // namespace attune::classification
