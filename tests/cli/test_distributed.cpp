// Data-parallel training on c10d (Gloo, CPU) with 2 real worker processes: N ranks x
// batch B train exactly what 1 rank x batch N*B trains, the three launchers reach the
// same rendezvous, and a lost worker stops the others with its rank named.
#include "tests/catch.h"

#include "data/formats/safetensors.h"
#include "tasks/engine/distributed.h"
#include "tests/common/cli.h"
#include "tests/common/gloo.h"
#include "tests/common/processes.h"
#include "tests/common/runs.h"
#include "tests/common/synthetic.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using attune::testing::Process;
using attune::testing::Result;
using attune::testing::run_attune;
using attune::testing::spawn_attune;
using attune::testing::wait_for;
using attune::testing::count_lines;
using attune::testing::max_difference;
using attune::testing::plus_args;
using attune::testing::text_run;
using attune::testing::wait_for_lines;

// Named, not anonymous: the unity build compiles this file with test_cli.cpp, which has its own concat.
namespace ddp_cli {

using attune::testing::require_success;

std::vector<std::string> recommendation_run(const std::string& dir, const std::string& run, int batch) {
  return {"train", "--task", "recommendation", "--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu",
          "--set", "threads=1", "--set", "data.interactions=" + dir + "/log.csv", "--set", "data.time_column=t",
          "--set", "model.hidden_size=16", "--set", "model.num_layers=1", "--set", "model.intermediate_size=32",
          "--set", "model.dropout=0", "--set", "objective.loss=softmax", "--set", "train.max_steps=20", "--set",
          "train.eval_every=20", "--set", "train.lr=1e-2", "--set", "train.adam_eps=1e-5", "--set",
          "train.batch_size=" + std::to_string(batch)};
}

// Every user has 10 interactions, so every training sequence has as many targets: the
// loss (a mean over targets) then weighs a batch by its users, as the engine does.
void write_interactions(const std::string& path) {
  std::ofstream log(path);
  log << "user,item,t\n";
  for (int u = 0; u < 48; ++u)
    for (int i = 0; i < 10; ++i) log << "u" << u << ",m" << (u * 3 + i * 7) % 20 << "," << i << "\n";
}

std::map<std::string, std::string> torchrun_env(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)}, {"LOCAL_RANK", std::to_string(rank)}, {"WORLD_SIZE", std::to_string(world)},
          {"LOCAL_WORLD_SIZE", std::to_string(world)}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", std::to_string(port)}};
}

// srun's variables; the master is the first host of a compressed node list, and the
// port derives from the job id.
std::map<std::string, std::string> slurm_env(int rank, int world, int port) {
  return {{"SLURM_PROCID", std::to_string(rank)}, {"SLURM_LOCALID", std::to_string(rank)},
          {"SLURM_NTASKS", std::to_string(world)}, {"SLURM_JOB_NODELIST", "127.0.0.[1-4,9]"},
          {"SLURM_JOB_ID", std::to_string(port - 15000 + 20000 * 7)}, {"SLURM_JOB_NUM_NODES", "1"}};
}

// Runs `args` as `world` workers under `env_of(rank, world, port)`; returns their statuses.
std::vector<Process> run_workers(const std::vector<std::string>& args, int world,
                                 const std::function<std::map<std::string, std::string>(int, int, int)>& env_of,
                                 const std::string& logs, std::chrono::milliseconds timeout = 120s) {
  const int port = attune::testing::free_port_in(15000, 35000);
  REQUIRE(port > 0);
  std::vector<Process> workers;
  for (int r = 0; r < world; ++r) workers.push_back(spawn_attune(args, env_of(r, world, port), logs + "-rank" + std::to_string(r)));
  for (auto& w : workers) wait_for(w, timeout);
  return workers;
}

void require_success(const std::vector<Process>& workers) {
  for (size_t r = 0; r < workers.size(); ++r) {
    INFO("rank " << r << " stderr: " << workers[r].err());
    REQUIRE(workers[r].status == 0);
  }
}

// The metrics of a run's last evaluation, without the time it took.
json last_evaluation(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  json last;
  for (std::string line; std::getline(in, line);) {
    const json m = json::parse(line);
    if (m.value("split", "") == "valid") last = m;
  }
  REQUIRE(last.is_object());
  last.erase("elapsed_s");
  return last;
}

// One step whose rate is zero (warm-up longer than the run), then an evaluation: the
// weights are the initial ones, the same on every rank and in one process, so a sharded
// evaluation must give one process's metrics bit for bit.
const std::vector<std::string> kFrozen = {"--set", "train.max_steps=1", "--set", "train.warmup_steps=10",
                                          "--set", "train.eval_every=1"};

// 2 ranks against 1: the same weights after 20 steps (up to the summation order), and
// with frozen weights the very same evaluation.
void check_data_parallel(const std::string& dir, const std::function<std::vector<std::string>(const std::string&)>& run,
                         const std::vector<std::string>& one, const std::string& weights, double tolerance = 1e-5) {
  require_success(run_attune(plus_args(run("one"), one)));
  require_success(run_attune(plus_args(run("two"), {"--nproc-per-node", "2"})));
  CHECK(max_difference(dir + "/one/" + weights, dir + "/two/" + weights) < tolerance);
  require_success(run_attune(plus_args(plus_args(run("one-frozen"), one), kFrozen)));
  require_success(run_attune(plus_args(plus_args(run("two-frozen"), kFrozen), {"--nproc-per-node", "2"})));
  CHECK(last_evaluation(dir + "/one-frozen") == last_evaluation(dir + "/two-frozen"));
}

void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string b = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((d >> shift) & 0xFF);
  b.append(values.begin(), values.end());
  std::ofstream(path, std::ios::binary) << b;
}

// The bytes of AdamW's state by rank in the line rank 0 logs under train.zero=1; empty
// without that line.
std::vector<int64_t> zero_state_bytes(const std::string& err) {
  std::smatch m;
  const std::regex line("zero: AdamW state per rank [0-9.e+-]+ MiB \\([0-9.e+-]+ MiB unsharded; bytes by rank:([0-9 ]+)\\)");
  if (!std::regex_search(err, m, line)) return {};
  std::istringstream in(m[1].str());
  std::vector<int64_t> bytes;
  for (int64_t b; in >> b;) bytes.push_back(b);
  return bytes;
}

// Once `metrics` has `lines` lines, kills rank 1 of the run `launcher` started (attune's
// own launcher, which prints the pids) with SIGKILL; returns the launcher's exit status
// (-1: it did not exit in time) and the killed pid.
std::pair<int, std::string> kill_rank1_of(Process& launcher, const std::string& metrics, int lines) {
  wait_for_lines(metrics, lines);
  std::smatch pids;
  const std::string launched = launcher.err();
  REQUIRE(std::regex_search(launched, pids, std::regex("as pids (\\d+) (\\d+)")));
  ::kill(std::stoi(pids[2].str()), SIGKILL);
  const int status = wait_for(launcher, 30s);
  fs::remove_all(fs::temp_directory_path() / ("attune-rank1-" + pids[2].str()));  // a killed rank's scratch
  return {status, pids[2].str()};
}

}  // namespace ddp_cli

using namespace ddp_cli;

TEST_CASE("2 ranks x batch B train as 1 rank x batch 2B, under each launcher", "[cli][distributed]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-text");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  require_success(run_attune(text_run(dir, "one", 16)));

  const auto workers = run_workers(text_run(dir, "torchrun", 8), 2, torchrun_env, dir + "/torchrun");
  require_success(workers);
  CHECK(json::parse(workers[0].out())["steps"] == 20);
  CHECK(workers[1].out().empty());  // rank 0 alone reports
  const double torchrun = max_difference(dir + "/one/model.safetensors", dir + "/torchrun/model.safetensors");
  CHECK(torchrun < 1e-5);
  // They differ at all, or the comparison would prove nothing: 1 rank x batch 8 is another run.
  require_success(run_attune(text_run(dir, "one-small", 8)));
  CHECK(max_difference(dir + "/one/model.safetensors", dir + "/one-small/model.safetensors") > 1e-3);

  // Rank 0 alone writes: the metrics of the group, one line per log step and evaluation.
  const std::string metrics = attune::testing::slurp(dir + "/torchrun/metrics.jsonl");
  CHECK(count_lines(dir + "/torchrun/metrics.jsonl") == count_lines(dir + "/one/metrics.jsonl"));
  CHECK(fs::exists(dir + "/torchrun/results.json"));

  const auto slurm = run_workers(text_run(dir, "slurm", 8), 2, slurm_env, dir + "/slurm");
  require_success(slurm);
  CHECK(max_difference(dir + "/torchrun/model.safetensors", dir + "/slurm/model.safetensors") == 0.0);

  const Result spawned = run_attune(plus_args(text_run(dir, "spawn", 8), {"--nproc-per-node", "2"}));
  require_success(spawned);
  CHECK(spawned.err.find("attune: launched ranks 0-1 of 2") != std::string::npos);
  CHECK(max_difference(dir + "/torchrun/model.safetensors", dir + "/spawn/model.safetensors") == 0.0);
  CHECK(json::parse(spawned.out)["steps"] == 20);
}

TEST_CASE("2 ranks x batch B train as 1 rank x batch 2B with LoRA and grad_accum", "[cli][distributed][peft]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-lora");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  const std::vector<std::string> lora = {"--set", "peft.method=lora", "--set", "train.lr=1e-2"};
  require_success(run_attune(plus_args(text_run(dir, "one", 16), lora)));
  require_success(run_attune(plus_args(plus_args(text_run(dir, "two", 8), lora), {"--nproc-per-node", "2"})));
  CHECK(max_difference(dir + "/one/adapter_model.safetensors", dir + "/two/adapter_model.safetensors") < 1e-5);
  // grad_accum 2 on 2 ranks of batch 4 is 1 rank x batch 16 too.
  require_success(run_attune(plus_args(plus_args(text_run(dir, "accum", 4), lora),
                                    {"--set", "train.grad_accum=2", "--nproc-per-node", "2"})));
  CHECK(max_difference(dir + "/one/adapter_model.safetensors", dir + "/accum/adapter_model.safetensors") < 1e-5);
}

TEST_CASE("2 ranks x batch B train as 1 rank x batch 2B for recommendation", "[cli][distributed][recommendation]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-rec");
  write_interactions(dir + "/log.csv");
  require_success(run_attune(recommendation_run(dir, "one", 16)));
  require_success(run_attune(plus_args(recommendation_run(dir, "two", 8), {"--nproc-per-node", "2"})));
  CHECK(max_difference(dir + "/one/model.safetensors", dir + "/two/model.safetensors") < 1e-5);
  require_success(run_attune(recommendation_run(dir, "one-small", 8)));
  CHECK(max_difference(dir + "/one/model.safetensors", dir + "/one-small/model.safetensors") > 1e-3);
}

// Losses that are means over tokens (MLM, translation) are not the mean of two half
// batches' means, in DDP as here; what must hold is that 2 ranks x batch B compute what
// 1 rank x batch B x grad_accum 2 does: the same micro-batches, the same weighting.
TEST_CASE("every task trains data-parallel as one process does, and evaluates sharded to one process's metrics",
          "[cli][distributed]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::vector<std::string> accumulate = {"--set", "train.grad_accum=2"};

  SECTION("text classification, with its validation split in batches the ranks share unevenly") {
    const std::string dir = attune::testing::temp_dir("ddp-eval-text");
    attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
    check_data_parallel(
        dir, [&](const std::string& run) { return plus_args(text_run(dir, run, 8), {"--set", "train.eval_batch_size=3"}); },
        {"--set", "train.batch_size=16"}, "model.safetensors");
  }
  SECTION("AdaLoRA: its rank allocation agrees across ranks") {
    const std::string dir = attune::testing::temp_dir("ddp-eval-adalora");
    attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
    check_data_parallel(
        dir,
        [&](const std::string& run) {
          return plus_args(text_run(dir, run, 8), {"--set", "peft.method=adalora", "--set", "peft.init_r=4", "--set",
                                                   "peft.target_r=2", "--set", "train.lr=1e-2"});
        },
        {"--set", "train.batch_size=16"}, "adapter_model.safetensors");
    CHECK(json::parse(attune::testing::slurp(dir + "/one/adapter_config.json"))["rank_pattern"] ==
          json::parse(attune::testing::slurp(dir + "/two/adapter_config.json"))["rank_pattern"]);
  }
  SECTION("recommendation") {
    const std::string dir = attune::testing::temp_dir("ddp-eval-rec");
    write_interactions(dir + "/log.csv");
    check_data_parallel(
        dir, [&](const std::string& run) { return plus_args(recommendation_run(dir, run, 8), {"--set", "train.eval_batch_size=5"}); },
        accumulate, "model.safetensors");
  }
  SECTION("MLM pretraining") {
    const std::string dir = attune::testing::temp_dir("ddp-eval-mlm");
    attune::testing::write_sentences(dir + "/train.txt", 120, 1);
    attune::testing::write_sentences(dir + "/valid.txt", 30, 2);
    check_data_parallel(
        dir,
        [&](const std::string& run) {
          return std::vector<std::string>{
              "pretrain", "--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu", "--set", "threads=1",
              "--set", "data.train=" + dir + "/train.txt", "--set", "data.valid=" + dir + "/valid.txt", "--set",
              "tokenizer.vocab_size=200", "--set", "model.preset=null", "--set", "model.hidden_size=32", "--set",
              "model.num_layers=1", "--set", "model.num_heads=2", "--set", "model.intermediate_size=64", "--set",
              "model.dropout=0", "--set", "model.attention_dropout=0", "--set", "mlm.max_length=32", "--set",
              "train.max_steps=20", "--set", "train.eval_every=20", "--set", "train.batch_size=4", "--set",
              "train.eval_batch_size=3", "--set", "train.adam_eps=1e-5"};
        },
        accumulate, "model.safetensors");
  }
  SECTION("translation, with its BLEU from translations the ranks share") {
    const std::string dir = attune::testing::temp_dir("ddp-eval-mt");
    attune::testing::write_number_pairs(dir + "/train.tsv", 200, 1);
    attune::testing::write_number_pairs(dir + "/valid.tsv", 20, 2);
    check_data_parallel(
        dir,
        [&](const std::string& run) {
          return std::vector<std::string>{
              "train", "--task", "translation", "--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu", "--set",
              "threads=1", "--set", "data.train=" + dir + "/train.tsv", "--set", "data.valid=" + dir + "/valid.tsv",
              "--set", "tokenizer.vocab_size=100", "--set", "model.preset=transformer-tiny", "--set", "model.dropout=0",
              "--set", "train.max_steps=20", "--set", "train.eval_every=20", "--set", "train.max_tokens=200", "--set",
              "train.eval_max_tokens=60", "--set", "train.eval_max_sentences=20", "--set", "train.adam_eps=1e-5"};
        },
        accumulate, "model.safetensors");
    CHECK(last_evaluation(dir + "/two-frozen").contains("bleu"));
  }
  SECTION("image classification, with random crops and flips") {
    const std::string dir = attune::testing::temp_dir("ddp-eval-image");
    std::vector<uint8_t> pixels, labels;
    for (int i = 0; i < 80 * 64; ++i) pixels.push_back(static_cast<uint8_t>((i * 37) % 251));
    for (int i = 0; i < 80; ++i) labels.push_back(static_cast<uint8_t>(i % 4));
    write_idx(dir + "/images", {80, 8, 8}, pixels);
    write_idx(dir + "/labels", {80}, labels);
    check_data_parallel(
        dir,
        [&](const std::string& run) {
          return std::vector<std::string>{
              "train", "--task", "image-classification", "--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu",
              "--set", "threads=1", "--set", "data.train_images=" + dir + "/images", "--set",
              "data.train_labels=" + dir + "/labels", "--set", "data.valid_size=14", "--set", "model.patch_size=4",
              "--set", "model.hidden_size=8", "--set", "model.num_layers=1", "--set", "model.num_heads=2", "--set",
              "model.mlp_size=16", "--set", "model.dropout=0", "--set", "augment.crop_padding=1", "--set",
              "augment.horizontal_flip=true", "--set", "train.max_steps=20", "--set", "train.eval_every=20",
              "--set", "train.batch_size=4", "--set", "train.eval_batch_size=3", "--set", "train.adam_eps=1e-5"};
        },
        accumulate, "model.safetensors");
  }
}

TEST_CASE("a signal to one rank stops every rank at the same step; --resume continues exactly",
          "[cli][distributed][faults]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-signal");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  const std::vector<std::string> longer = {"--set", "train.max_steps=200", "--set", "train.eval_every=200",
                                           "--set", "train.log_every=7", "--set", "train.checkpoint_every=1000",
                                           "--dist-timeout", "20"};
  const int port = attune::testing::free_port_in(15000, 35000);
  const auto run = plus_args(text_run(dir, "stopped", 8), longer);
  Process rank0 = spawn_attune(run, torchrun_env(0, 2, port), dir + "/s0");
  Process rank1 = spawn_attune(run, torchrun_env(1, 2, port), dir + "/s1");
  wait_for_lines(dir + "/stopped/metrics.jsonl", 2);
  ::kill(rank1.pid, SIGTERM);
  wait_for(rank0, 30s);
  wait_for(rank1, 30s);
  INFO("rank 0 stderr: " << rank0.err() << "\nrank 1 stderr: " << rank1.err());
  CHECK(rank0.status == 130);
  CHECK(rank1.status == 130);
  std::smatch step;
  const std::string said = rank0.err();
  REQUIRE(std::regex_search(said, step, std::regex("interrupted at step (\\d+)")));
  CHECK(std::stoi(step[1].str()) < 200);

  require_success(run_attune({"train", "--resume", dir + "/stopped", "--nproc-per-node", "2"}));
  require_success(run_attune(plus_args(plus_args(text_run(dir, "whole", 8), longer), {"--nproc-per-node", "2"})));
  CHECK(max_difference(dir + "/whole/model.safetensors", dir + "/stopped/model.safetensors") == 0.0);
  CHECK(count_lines(dir + "/whole/metrics.jsonl") == count_lines(dir + "/stopped/metrics.jsonl"));
}

TEST_CASE("a killed worker stops the other within the timeout, naming its rank; --resume continues exactly",
          "[cli][distributed][faults]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-kill");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  const std::vector<std::string> longer = {"--set", "train.max_steps=300", "--set", "train.eval_every=300",
                                           "--set", "train.log_every=1", "--set", "train.checkpoint_every=10",
                                           "--dist-timeout", "20"};
  const auto killed_run = plus_args(text_run(dir, "killed", 8), longer);

  SECTION("under torchrun's variables, the surviving worker names the rank") {
    const int port = attune::testing::free_port_in(15000, 35000);
    Process rank0 = spawn_attune(killed_run, torchrun_env(0, 2, port), dir + "/w0");
    Process rank1 = spawn_attune(killed_run, torchrun_env(1, 2, port), dir + "/w1");
    wait_for_lines(dir + "/killed/metrics.jsonl", 15);
    ::kill(rank1.pid, SIGKILL);
    const auto killed = std::chrono::steady_clock::now();
    wait_for(rank1, 10s);
    fs::remove_all(fs::temp_directory_path() / ("attune-rank1-" + std::to_string(rank1.pid)));  // a killed rank's scratch
    const int status = wait_for(rank0, 30s);
    INFO("rank 0 stderr: " << rank0.err());
    CHECK(status != 0);
    CHECK(status != -1);  // it exited on its own, before the test's deadline
    CHECK(std::chrono::steady_clock::now() - killed < 25s);
    CHECK(rank0.err().find("rank 1 stopped") != std::string::npos);
  }

  SECTION("under attune's launcher, which names the rank; then --resume with 2 ranks ends as an uninterrupted run") {
    Process launcher = spawn_attune(plus_args(killed_run, {"--nproc-per-node", "2"}), {}, dir + "/launcher");
    const auto [status, pid] = kill_rank1_of(launcher, dir + "/killed/metrics.jsonl", 15);
    INFO("launcher stderr: " << launcher.err());
    CHECK(status != 0);
    CHECK(status != -1);
    CHECK(launcher.err().find("rank 1: (pid " + pid + ") was killed by signal 9") != std::string::npos);

    require_success(run_attune({"train", "--resume", dir + "/killed", "--nproc-per-node", "2"}));
    require_success(run_attune(plus_args(plus_args(text_run(dir, "whole", 8), longer), {"--nproc-per-node", "2"})));
    CHECK(max_difference(dir + "/whole/model.safetensors", dir + "/killed/model.safetensors") == 0.0);
    CHECK(count_lines(dir + "/whole/metrics.jsonl") == count_lines(dir + "/killed/metrics.jsonl"));
  }
}

TEST_CASE("data-parallel bad input: one line naming the variable, flag or rank; non-zero exit",
          "[cli][distributed][errors]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-errors");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  const auto args = plus_args(text_run(dir, "run", 8), {"--dist-timeout", "10"});
  auto last_line = [](const std::string& err) {
    const auto start = err.rfind('\n', err.size() - 2);
    return err.substr(start == std::string::npos ? 0 : start + 1);
  };

  // A rank whose config differs is refused at the rendezvous, on both sides.
  const int port = attune::testing::free_port_in(15000, 35000);
  Process rank0 = spawn_attune(args, torchrun_env(0, 2, port), dir + "/d0");
  Process rank1 = spawn_attune(plus_args(args, {"--set", "train.lr=1e-3"}), torchrun_env(1, 2, port), dir + "/d1");
  wait_for(rank0, 60s);
  wait_for(rank1, 60s);
  CHECK(rank0.status == 2);
  CHECK(rank1.status == 2);
  CHECK(last_line(rank0.err()).find("rank 1's config differs from rank 0's") != std::string::npos);
  CHECK(last_line(rank1.err()).find("rank 1's config differs from rank 0's") != std::string::npos);
  CHECK(!fs::exists(dir + "/run/metrics.jsonl"));

  // A rank that never arrives: rank 0 names it after the timeout.
  Process alone = spawn_attune(plus_args(text_run(dir, "alone", 8), {"--dist-timeout", "2"}),
                               torchrun_env(0, 2, attune::testing::free_port_in(15000, 35000)), dir + "/alone");
  CHECK(wait_for(alone, 60s) == 2);
  CHECK(last_line(alone.err()).find("attune: error: rank 1: did not join the rendezvous") == 0);

  Process bad_rank = spawn_attune(args, {{"WORLD_SIZE", "2"}, {"RANK", "two"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "1234"}},
                                  dir + "/bad");
  CHECK(wait_for(bad_rank, 60s) == 2);
  CHECK(last_line(bad_rank.err()).find("attune: error: RANK: expected a number in [0, 1], got 'two'") == 0);

  Process no_port = spawn_attune(args, {{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"}}, dir + "/noport");
  CHECK(wait_for(no_port, 60s) == 2);
  CHECK(last_line(no_port.err()).find("attune: error: MASTER_PORT: not set") == 0);

  Process nested = spawn_attune(plus_args(args, {"--nproc-per-node", "2"}), torchrun_env(0, 2, 1234), dir + "/nested");
  CHECK(wait_for(nested, 60s) == 2);
  CHECK(last_line(nested.err()).find("attune: error: --nproc-per-node: WORLD_SIZE is set") == 0);

  {
    // A port in use on the master, and a master nobody serves.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t length = sizeof(addr);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    const int busy = ntohs(addr.sin_port);
    Process taken = spawn_attune(plus_args(text_run(dir, "taken", 8), {"--dist-timeout", "3"}), torchrun_env(0, 2, busy), dir + "/taken");
    CHECK(wait_for(taken, 60s) == 2);
    CHECK(last_line(taken.err()).find("attune: error: MASTER_PORT: rank 0 cannot serve the rendezvous on 127.0.0.1:" +
                                      std::to_string(busy)) == 0);
    ::close(fd);
    Process unreachable = spawn_attune(plus_args(text_run(dir, "unreachable", 8), {"--dist-timeout", "2"}),
                                       torchrun_env(1, 2, busy), dir + "/unreachable");
    CHECK(wait_for(unreachable, 60s) == 2);
    CHECK(last_line(unreachable.err()).find("attune: error: MASTER_ADDR: rank 1 cannot reach the rendezvous at 127.0.0.1:" +
                                            std::to_string(busy) + " within 2 s") == 0);
  }

  const Result no_launcher = run_attune(plus_args(args, {"--nnodes", "2"}));
  CHECK(no_launcher.status == 2);
  CHECK(no_launcher.err.find("--nnodes: only with --nproc-per-node") != std::string::npos);
}

TEST_CASE("train.zero=1: 2 ranks hold half of AdamW's state each and train the weights they train without it",
          "[cli][distributed][zero]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-zero");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  // 32 positions, not 512: a table of 512 would hold more than half of this tiny model's
  // parameters, and a tensor is never split between ranks.
  const std::vector<std::string> two = {"--set", "model.max_length=32", "--nproc-per-node", "2"};
  const std::vector<std::string> zero = {"--set", "train.zero=1"};

  const Result plain = run_attune(plus_args(text_run(dir, "plain", 8), two));
  const Result sharded = run_attune(plus_args(plus_args(text_run(dir, "zero", 8), zero), two));
  require_success(plain);
  require_success(sharded);
  CHECK(max_difference(dir + "/plain/model.safetensors", dir + "/zero/model.safetensors") == 0.0);

  // Each rank holds its shard: the two are disjoint, add up to the state an unsharded rank
  // holds, and split it about evenly.
  const int64_t unsharded = json::parse(plain.out)["optimizer_state_bytes"].get<int64_t>();
  const std::vector<int64_t> bytes = zero_state_bytes(sharded.err);
  INFO("zero run stderr: " << sharded.err);
  REQUIRE(bytes.size() == 2);
  CHECK(bytes[0] + bytes[1] == unsharded);
  CHECK(std::max(bytes[0], bytes[1]) < 0.6 * static_cast<double>(unsharded));
  // At the end rank 0 holds its own shard again, after writing the whole state.
  CHECK(json::parse(sharded.out)["optimizer_state_bytes"].get<int64_t>() == bytes[0]);
  CHECK(zero_state_bytes(plain.err).empty());

  // With LoRA only the adapters (and the classifier) have a state to shard.
  const std::vector<std::string> lora = {"--set", "peft.method=lora", "--set", "train.lr=1e-2"};
  const Result lora_plain = run_attune(plus_args(plus_args(text_run(dir, "lora-plain", 8), lora), two));
  const Result lora_zero = run_attune(plus_args(plus_args(plus_args(text_run(dir, "lora-zero", 8), lora), zero), two));
  require_success(lora_plain);
  require_success(lora_zero);
  CHECK(max_difference(dir + "/lora-plain/adapter_model.safetensors", dir + "/lora-zero/adapter_model.safetensors") == 0.0);
  const std::vector<int64_t> lora_bytes = zero_state_bytes(lora_zero.err);
  REQUIRE(lora_bytes.size() == 2);
  CHECK(lora_bytes[0] + lora_bytes[1] == json::parse(lora_plain.out)["optimizer_state_bytes"].get<int64_t>());
  CHECK(lora_bytes[0] + lora_bytes[1] < unsharded / 2);
}

TEST_CASE("train.zero=1: a run killed midway resumes from its checkpoint to the weights of an uninterrupted one",
          "[cli][distributed][zero][faults]") {
  if (!attune::testing::gloo_or_skip()) return;
  const std::string dir = attune::testing::temp_dir("ddp-zero-kill");
  attune::testing::write_topics_csv(dir + "/train.csv", 200, 11);
  const std::vector<std::string> longer = {"--set", "train.zero=1", "--set", "train.max_steps=150", "--set",
                                           "train.eval_every=150", "--set", "train.log_every=1", "--set",
                                           "train.checkpoint_every=10", "--dist-timeout", "20", "--nproc-per-node", "2"};
  Process launcher = spawn_attune(plus_args(text_run(dir, "killed", 8), longer), {}, dir + "/launcher");
  const int status = kill_rank1_of(launcher, dir + "/killed/metrics.jsonl", 25).first;
  INFO("launcher stderr: " << launcher.err());
  REQUIRE(status != 0);
  REQUIRE(status != -1);
  // Killed midway: the checkpoint it resumes from is one of the periodic ones.
  const json latest = json::parse(attune::testing::slurp(dir + "/killed/checkpoint.json"));
  CHECK(latest["global_step"].get<int64_t>() >= 20);
  CHECK(latest["global_step"].get<int64_t>() < 150);

  const Result resumed = run_attune({"train", "--resume", dir + "/killed", "--nproc-per-node", "2"});
  require_success(resumed);
  CHECK(zero_state_bytes(resumed.err).size() == 2);
  require_success(run_attune(plus_args(text_run(dir, "whole", 8), longer)));
  CHECK(max_difference(dir + "/whole/model.safetensors", dir + "/killed/model.safetensors") == 0.0);
  CHECK(count_lines(dir + "/whole/metrics.jsonl") == count_lines(dir + "/killed/metrics.jsonl"));
}
