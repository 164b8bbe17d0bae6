#include "tasks/classification/speed.h"

#include "core/error.h"
#include "core/compat.h"
#include "core/trace_compat.h"
#include "models/common/fusion.h"
#include "models/common/parameters.h"
#include "models/export/script_module.h"
#include "models/peft/config.h"
#include "tasks/bench/device_memory.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/export.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/task.h"
#include "core/config.h"
#include "tasks/engine/distributed.h"
#include "tasks/engine/settings.h"
#include "tasks/engine/step_runner.h"
#include "tasks/engine/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace attune::classification {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// Distinct batches cycled through, so no step sees the same tokens as the one before.
constexpr int64_t kDistinctBatches = 8;
// Batches of the infer stream, each of a length not seen before in it.
constexpr int64_t kStreamBatches = 16;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

json summary(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {{"median", ms[ms.size() / 2]}, {"min", ms.front()}, {"max", ms.back()}, {"runs", ms}};
}

// Synthetic examples: uniform token ids (never 0, the pad id), full length, random labels.
Examples synthetic_examples(int64_t count, const SpeedOptions& o, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> token(1, o.vocab_size - 1), label(0, o.num_labels - 1);
  Examples ex;
  for (int64_t i = 0; i < count; ++i) {
    // The first example of each batch one token short: every batch then needs a mask.
    const int64_t length = (o.masked && i % o.batch_size == 0) ? o.seq_len - 1 : o.seq_len;
    text::Encoding e;
    for (int64_t j = 0; j < length; ++j) e.ids.push_back(token(rng));
    e.type_ids.assign(e.ids.size(), 0);
    ex.texts.emplace_back();
    ex.where.push_back("synthetic:" + std::to_string(i + 1));
    ex.labels.push_back(label(rng));
    ex.encodings.push_back(std::move(e));
  }
  return ex;
}

// Times `run` (one step or batch) repeats x steps times after the warm-up; the device is
// drained before each clock reading, never inside a repeat.
json time_repeats(const SpeedOptions& o, const torch::Device& device, const std::function<void(int64_t)>& run) {
  int64_t i = 0;
  for (int64_t w = 0; w < o.warmup; ++w) run(i++);
  bench::synchronize(device);
  std::vector<double> per_step;
  for (int64_t r = 0; r < o.repeats; ++r) {
    const auto start = Clock::now();
    for (int64_t s = 0; s < o.steps; ++s) run(i++);
    bench::synchronize(device);
    per_step.push_back(milliseconds_since(start) / static_cast<double>(o.steps));
  }
  return summary(per_step);
}

// `steps` more calls of `run` recorded as a trace, when the options ask for one.
void trace_steps(const SpeedOptions& o, const torch::Device& device, const std::function<void(int64_t)>& run,
                 int64_t first) {
  if (o.trace.empty()) return;
  bench::synchronize(device);
  compat::start_trace();
  for (int64_t s = 0; s < o.steps; ++s) run(first + s);
  bench::synchronize(device);
  compat::stop_trace(o.trace);
}

void add_rates(json& record, const json& timing, int64_t batch_size, int64_t seq_len) {
  const double ms = timing["median"].get<double>();
  record["samples_per_s"] = 1000.0 * static_cast<double>(batch_size) / ms;
  record["tokens_per_s"] = 1000.0 * static_cast<double>(batch_size * seq_len) / ms;
}

void add_memory(json& record, const torch::Device& device) {
  if (const auto peak = bench::peak_memory(device)) {
    record["peak_allocated_mib"] = peak->allocated_mib;
    record["peak_reserved_mib"] = peak->reserved_mib;
  }
}

// AdamW's state bytes of this rank, and under a launcher every rank's state and peak GPU
// memory (collective), so that ZeRO's saving per GPU is read off one record.
void add_optimizer_memory(json& record, const engine::AdamW& optimizer, engine::StepRunner& runner,
                          engine::Distributed* group, const torch::Device& device) {
  record["zero"] = runner.sharded_state() ? 1 : 0;
  record["optimizer_state_bytes"] = optimizer.state_bytes();
  if (!group) return;
  const auto as_integers = [](const std::vector<double>& v) { return std::vector<int64_t>(v.begin(), v.end()); };
  record["optimizer_state_bytes_per_rank"] = as_integers(group->gather_numbers(static_cast<double>(optimizer.state_bytes())));
  if (const auto peak = bench::peak_memory(device)) {
    record["peak_allocated_mib_per_rank"] = group->gather_numbers(peak->allocated_mib);
    record["peak_reserved_mib_per_rank"] = group->gather_numbers(peak->reserved_mib);
  }
}

json base_record(const Config& config, const SpeedOptions& o, RunModel& run, const torch::Device& device) {
  json r = {{"system", "attune"},
            {"mode", o.mode},
            {"method", peft_enabled(config) ? config.peft.at("method").get<std::string>() : "full"},
            {"device", device.str()},
            {"torch_version", bundle::torch_version()},
            {"bf16", config.train.bf16 && compat::kHasAutocast && device.is_cuda()},
            {"seq_len", o.seq_len},
            {"batch_size", o.batch_size},
            {"vocab_size", o.vocab_size},
            {"model", run.model->encoder().config()},
            {"parameters", models::parameter_count(*run.model)},
            {"trainable_parameters", models::parameter_count(*run.model, /*trainable_only=*/true)},
            {"steps", o.steps},
            {"repeats", o.repeats},
            {"warmup", o.warmup},
            {"masked", o.masked},
            {"unfused", o.unfused},
            {"fused", o.fused}};
  for (const auto& [name, on] : models::fusion_state()) r["fusions"][name] = on;
  return r;
}

json train_bench(const json& config, const SpeedOptions& o, const torch::Device& device) {
  const Config typed = parse_config(config);
  RunModel run = build_run_model(typed, o.vocab_size, o.num_labels);
  run.model->to(device);
  std::vector<std::string> labels;
  for (int64_t i = 0; i < o.num_labels; ++i) labels.push_back("label" + std::to_string(i));
  ClassificationTask task(run.model, run.peft, synthetic_examples(kDistinctBatches * o.batch_size, o, 1), Examples(),
                          labels, /*pad_id=*/0, o.batch_size, o.batch_size, /*bucket=*/false);
  engine::TrainOptions options = engine::train_options_from_config(config);
  options.distributed = o.distributed;
  const int64_t world = o.distributed ? o.distributed->world_size() : 1;
  options.optimizer.fused = o.fused_optimizer;
  options.cuda_graphs = options.cuda_graphs && o.cuda_graphs;
  options.graph_collectives = o.graph_collectives;
  auto optimizer = engine::make_adamw(*run.model, options.optimizer);
  engine::StepRunner runner(task, *optimizer, options);
  const engine::BatchPlan plan = task.train_plan(0, options.seed);
  run.model->train();
  json record = base_record(typed, o, run, device);
  record["fused_optimizer"] = optimizer->fused();
  record["sync_every_step"] = o.sync_every_step;
  record["cuda_graphs"] = runner.graphs_on();
  if (!runner.graphs_off_reason().empty()) record["cuda_graphs_off"] = runner.graphs_off_reason();
  // The speed change this run undoes, for the table of ablations ("" when none).
  record["ablation"] = !o.fused_optimizer ? "no-fused-optimizer" : o.sync_every_step ? "sync-every-step"
                       : o.masked       ? "masked"
                       : !o.unfused.empty() ? "unfused-" + o.unfused.front()
                       : !o.fused.empty() ? "fused-" + o.fused.front()
                       : !o.cuda_graphs ? "no-cuda-graphs"
                       : o.distributed && !o.graph_collectives ? "sums-outside-graphs"
                                        : "";
  bench::reset_peak_memory(device);
  torch::Tensor last_loss;
  const auto step = [&](int64_t i) {
    // A step spans one batch per rank, as in attune train; each rank computes its own.
    const int64_t b = (i * world) % static_cast<int64_t>(plan.size());
    engine::StepOutput out = runner.run(plan, b, b + world, options.optimizer.lr);
    if (o.sync_every_step) (void)out.loss.item<double>();
    last_loss = out.loss;
  };
  const json timing = time_repeats(o, device, step);
  trace_steps(o, device, step, o.warmup + o.steps * o.repeats);
  // A step that computes garbage fast is no result: the loss must stay finite.
  record["final_loss"] = last_loss.item<double>();
  TORCH_CHECK(std::isfinite(record["final_loss"].get<double>()), "attune bench: the training loss became ",
              record["final_loss"].get<double>());
  record["step_ms"] = timing;
  record["graphs_captured"] = runner.graphs_captured();
  add_rates(record, timing, o.batch_size, o.seq_len);  // per rank, so per GPU
  record["world_size"] = world;
  if (world > 1) record["global_tokens_per_s"] = record["tokens_per_s"].get<double>() * static_cast<double>(world);
  add_memory(record, device);
  add_optimizer_memory(record, *optimizer, runner, o.distributed.get(), device);
  return record;
}

// Forward passes under the run's precision, as `attune predict` runs them.
json infer_timings(const SpeedOptions& o, const torch::Device& device, bool bf16,
                   const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)>& forward,
                   bool traced = false) {
  torch::NoGradGuard no_grad;
  compat::AutocastGuard autocast(device, bf16);
  auto batch = [&](int64_t b) {
    torch::Tensor ids = torch::randint(1, o.vocab_size, {b, o.seq_len}, torch::TensorOptions().dtype(torch::kLong));
    return std::make_tuple(ids.to(device), torch::ones_like(ids).to(device), torch::zeros_like(ids).to(device));
  };
  std::vector<std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>> big;
  for (int64_t i = 0; i < kDistinctBatches; ++i) big.push_back(batch(o.batch_size));
  json r;
  const auto run_batch = [&](int64_t i) {
    const auto& [ids, mask, types] = big[i % kDistinctBatches];
    (void)forward(ids, mask, types);
  };
  r["batch_ms"] = time_repeats(o, device, run_batch);
  if (traced) trace_steps(o, device, run_batch, 0);
  add_rates(r, r["batch_ms"], o.batch_size, o.seq_len);
  // Latency: one example at a time, each call waited for as a client would.
  const auto one = batch(1);
  for (int64_t w = 0; w < o.warmup; ++w) (void)forward(std::get<0>(one), std::get<1>(one), std::get<2>(one));
  bench::synchronize(device);
  std::vector<double> ms;
  for (int64_t i = 0; i < o.latency_runs; ++i) {
    const auto start = Clock::now();
    (void)forward(std::get<0>(one), std::get<1>(one), std::get<2>(one)).to(torch::kCPU);
    ms.push_back(milliseconds_since(start));
  }
  json latency = summary(ms);
  std::sort(ms.begin(), ms.end());
  latency["p90"] = ms[static_cast<size_t>(0.9 * static_cast<double>(ms.size() - 1))];
  latency.erase("runs");
  r["latency_ms"] = latency;
  // What predict and serve send: each batch of another length (length buckets, a last
  // short batch), timed as one stream, so that work a new shape costs (graph executor
  // re-specialisation, a oneDNN primitive built per shape) is counted where fixed-shape
  // batches hide it.
  const int64_t lengths = std::max<int64_t>(1, std::min<int64_t>(kStreamBatches, o.seq_len));
  std::vector<std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>> stream;
  for (int64_t i = 0; i < kStreamBatches; ++i) {
    const int64_t length = o.seq_len - (i % lengths) * std::max<int64_t>(1, o.seq_len / (2 * lengths));
    torch::Tensor ids = torch::randint(1, o.vocab_size, {o.batch_size, length}, torch::TensorOptions().dtype(torch::kLong));
    stream.emplace_back(ids.to(device), torch::ones_like(ids).to(device), torch::zeros_like(ids).to(device));
  }
  const auto start = Clock::now();
  for (const auto& [ids, mask, types] : stream) (void)forward(ids, mask, types).to(torch::kCPU);
  r["stream_ms"] = milliseconds_since(start);
  r["stream_batches"] = kStreamBatches;
  return r;
}

json infer_bench(const Config& config, const SpeedOptions& o, const torch::Device& device) {
  RunModel run = build_run_model(config, o.vocab_size, o.num_labels);
  run.model->to(device);
  run.model->eval();
  const bool bf16 = config.train.bf16;
  json record = base_record(config, o, run, device);
  bench::reset_peak_memory(device);
  record["eager"] = infer_timings(o, device, bf16, [&](const torch::Tensor& ids, const torch::Tensor& mask,
                                                       const torch::Tensor& types) {
    // As forward_batch: a batch without padding goes in without a mask.
    (void)mask;
    return run.model->forward(ids, types, torch::Tensor());
  }, /*traced=*/true);
  add_memory(record["eager"], device);
  // The bundle's module: what `attune export` writes (adapters merged), on the same device.
  run.model->to(torch::kCPU);
  ScriptedRun scripted = script_run_model(run);
  scripted.module.to(device);
  bench::reset_peak_memory(device);
  record["script"] = infer_timings(o, device, bf16, [&](const torch::Tensor& ids, const torch::Tensor& mask,
                                                        const torch::Tensor& types) {
    return scripted.module.forward({ids, mask, types}).toTensor();
  });
  add_memory(record["script"], device);
  if (device.is_cpu()) {
    // What `attune export --int8` writes (Linear layers as int8 dynamic quantization) and
    // what `--bf16` writes (every float tensor in bfloat16: oneDNN's AVX-512 BF16 / AMX
    // kernels where the CPU has them), each against the float32 module.
    const std::string engine = script::use_int8_engine();
    run.model->to(torch::kCPU);
    for (const auto& [precision, name] : {std::pair{bundle::Precision::kInt8Dynamic, "int8"},
                                          std::pair{bundle::Precision::kBFloat16, "bf16"}}) {
      ScriptedRun low = script_run_model(run, precision);
      const std::string key = std::string("script_") + name;
      record[key] = infer_timings(o, device, bf16, [&](const torch::Tensor& ids, const torch::Tensor& mask,
                                                       const torch::Tensor& types) {
        return low.module.forward({ids, mask, types}).toTensor();
      });
      const auto ratio = [&](const char* timing, const char* stat) {
        const json& fp32 = record["script"][timing];
        const json& q = record[key][timing];
        return (stat ? fp32[stat] : fp32).get<double>() / (stat ? q[stat] : q).get<double>();
      };
      record[std::string(name) + "_speedup"] = {{"batch", ratio("batch_ms", "median")},
                                                {"latency", ratio("latency_ms", "median")},
                                                {"stream", ratio("stream_ms", nullptr)}};
    }
    record["script_int8"]["engine"] = engine;
  }
  return record;
}

}  // namespace

json speed_bench(const json& config, const SpeedOptions& o) {
  if (config.value("task", "") != "text-classification") {
    fail("task", "attune bench measures text-classification configs, not '" + config.value("task", "") + "'");
  }
  if (o.mode != "train" && o.mode != "infer") fail("--mode", "unknown mode '" + o.mode + "' (known: train, infer, matmul)");
  if (o.distributed && o.mode != "train") fail("--mode", "only train steps are data-parallel; run " + o.mode + " alone");
  if (o.distributed && kDistinctBatches % o.distributed->world_size() != 0) {
    fail("WORLD_SIZE", "attune bench runs 1, 2, 4 or 8 ranks (its " + std::to_string(kDistinctBatches) +
                           " distinct batches are shared out evenly)");
  }
  if (o.seq_len < 2) fail("--seq-len", "must be at least 2");
  for (const auto& [flag, value] : {std::pair<const char*, int64_t>{"--batch-size", o.batch_size},
                                    {"--steps", o.steps}, {"--repeats", o.repeats}, {"--latency-runs", o.latency_runs},
                                    {"--labels", o.num_labels - 1}, {"--vocab-size", o.vocab_size - 1}}) {
    if (value < 1) fail(flag, "too small");
  }
  if (o.warmup < 0) fail("--warmup", "must be >= 0");
  if (!o.trace.empty() && !compat::can_trace()) fail("--trace", "traces need LibTorch 2.x; this build has " TORCH_VERSION);
  const Config typed = parse_config(config);
  const int64_t positions = typed.model.value("max_length", int64_t{512});
  if (o.seq_len > positions) {
    fail("--seq-len", std::to_string(o.seq_len) + " exceeds model.max_length (" + std::to_string(positions) + ")");
  }
  const torch::Device device = engine::resolve_device(typed.run.device, "device");
  engine::apply_threads(typed.run.threads);
  torch::manual_seed(typed.run.seed);
  return o.mode == "train" ? train_bench(config, o, device) : infer_bench(typed, o, device);
}

json matmul_rate(const std::string& device_name, int64_t size) {
  if (size < 16) fail("--matmul-size", "must be at least 16");
  const torch::Device device = engine::resolve_device(device_name, "device");
  const auto dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat;
  const auto opts = torch::TensorOptions().dtype(dtype).device(device);
  const torch::Tensor a = torch::randn({size, size}, opts), b = torch::randn({size, size}, opts);
  torch::Tensor c = torch::empty({size, size}, opts);
  SpeedOptions o;
  o.warmup = 5;
  o.steps = device.is_cuda() ? 20 : 2;
  o.repeats = 5;
  const json timing = time_repeats(o, device, [&](int64_t) { torch::matmul_out(c, a, b); });
  const double flops = 2.0 * static_cast<double>(size) * static_cast<double>(size) * static_cast<double>(size);
  // The best repeat: the rate the card can reach, the denominator of utilisation.
  return {{"system", "attune"}, {"mode", "matmul"}, {"device", device.str()},
          {"dtype", device.is_cuda() ? "bfloat16" : "float32"}, {"size", size},
          {"tflops", flops / (timing["min"].get<double>() * 1e-3) / 1e12}, {"ms", timing}};
}

}  // namespace attune::classification
