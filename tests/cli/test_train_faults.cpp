// `attune train` against the faults of a real machine: a Ctrl-C or a SIGTERM from a job
// scheduler, and a disk that fills up.
#include "tests/catch.h"

#include "tests/common/cli.h"
#include "tests/common/file_size_limit.h"
#include "tests/common/processes.h"
#include "tests/common/runs.h"
#include "tests/common/synthetic.h"


#include <csignal>
#include <regex>

using namespace std::chrono_literals;

TEST_CASE("SIGINT or SIGTERM checkpoints a training run and exits 130; --resume continues exactly", "[cli][faults]") {
  using namespace attune::testing;
  const std::string dir = temp_dir("train-signal");
  write_topics_csv(dir + "/train.csv", 200, 11);
  const std::vector<std::string> longer = {"--set", "train.max_steps=300", "--set", "train.eval_every=300",
                                           "--set", "train.log_every=7", "--set", "train.checkpoint_every=1000"};
  require_success(run_attune(plus_args(text_run(dir, "whole", 8), longer)));
  for (const int signal : {SIGINT, SIGTERM}) {
    const std::string run = "stopped-" + std::to_string(signal);
    Process p = spawn_attune(plus_args(text_run(dir, run, 8), longer), {}, dir + "/" + run);
    wait_for_lines(dir + "/" + run + "/metrics.jsonl", 2);
    ::kill(p.pid, signal);
    wait_for(p, 30s);
    INFO("signal " << signal << ", stderr: " << p.err());
    CHECK(p.status == 130);
    std::smatch step;
    const std::string said = p.err();
    REQUIRE(std::regex_search(said, step, std::regex("interrupted at step (\\d+); checkpoint saved")));
    CHECK(std::stoi(step[1].str()) < 300);
    require_success(run_attune({"train", "--resume", dir + "/" + run}));
    CHECK(max_difference(dir + "/whole/model.safetensors", dir + "/" + run + "/model.safetensors") == 0.0);
    CHECK(count_lines(dir + "/whole/metrics.jsonl") == count_lines(dir + "/" + run + "/metrics.jsonl"));
  }
}

TEST_CASE("a disk that fills during training stops it with one line naming the file, not a signal", "[cli][faults]") {
  using namespace attune::testing;
  const std::string dir = temp_dir("train-full-disk");
  write_topics_csv(dir + "/train.csv", 200, 11);
  Result r;
  {
    // Small files (the config, the vocabulary) fit; the weights do not.
    FileSizeLimit limit(16 * 1024, /*in_process=*/false);
    r = run_attune(text_run(dir, "full", 8));
  }
  INFO("stderr: " << r.err);
  CHECK(r.status == 2);  // not 128 + SIGXFSZ
  CHECK(r.err.find("model.safetensors: cannot write: File too large") != std::string::npos);
  CHECK(r.err.find("attune: error: ") != std::string::npos);
}
