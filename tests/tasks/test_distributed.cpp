// The data-parallel engine's parts without a training run: launcher environments,
// Slurm host lists, each rank's share of a step, and the gradient reducer on a real
// 2-rank Gloo group (two threads of this process).
#include "tests/catch.h"

#include "core/error.h"
#include "tests/common/errors.h"
#include "tests/common/gloo.h"
#include "tasks/engine/distributed.h"
#include "tasks/engine/eval_shard.h"
#include "tasks/engine/grad_reducer.h"
#include "tasks/engine/launch.h"
#include "tasks/engine/rendezvous.h"
#include "tasks/engine/trainer.h"
#include "tasks/engine/zero.h"

#include <filesystem>
#include <map>
#include <numeric>
#include <thread>

using namespace attune;
using engine::Rendezvous;

namespace ddp_unit {

engine::EnvLookup env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

// A module whose parameters are copies of `values`: its optimizer groups them as training does.
struct GivenParameters : torch::nn::Module {
  explicit GivenParameters(const std::vector<torch::Tensor>& values) {
    for (size_t i = 0; i < values.size(); ++i) register_parameter("p" + std::to_string(i), values[i].clone());
  }
};

// The summed gradient of parameter k at step s: the same on every rank, as after GradReducer.
torch::Tensor summed_gradient(const torch::Tensor& p, size_t k, int s) {
  return torch::sin(torch::arange(p.numel(), torch::kFloat).view(p.sizes()) * 0.37 + static_cast<double>(k) + 1.3 * s);
}

engine::Rendezvous local_rendezvous(int rank, int world, int port) {
  Rendezvous where;
  where.rank = rank;
  where.world_size = world;
  where.master_addr = "127.0.0.1";
  where.master_port = static_cast<uint16_t>(port);
  where.launcher = "test";
  return where;
}

// Runs body(rank, group) as ranks 0 and 1 on two threads of this process, joined into
// one Gloo group; returns each rank's error ("" when none).
std::vector<std::string> on_two_ranks(const std::function<void(int rank, engine::Distributed& group)>& body) {
  const int port = engine::free_port("127.0.0.1");
  engine::DistributedOptions options;
  options.timeout = std::chrono::seconds(20);
  std::vector<std::string> errors(2);
  auto rank_main = [&](int rank) {
    try {
      const auto group =
          engine::Distributed::connect(local_rendezvous(rank, 2, port), engine::Fingerprint{"c", "x", "d"}, options);
      body(rank, *group);
    } catch (const std::exception& e) {
      errors[rank] = e.what();
    }
  };
  std::thread r0(rank_main, 0), r1(rank_main, 1);
  r0.join();
  r1.join();
  return errors;
}

}  // namespace ddp_unit

using ddp_unit::env_of;
using ddp_unit::GivenParameters;
using ddp_unit::summed_gradient;
using attune::testing::error_of;

TEST_CASE("Slurm host lists expand in order with their zero padding", "[distributed]") {
  using V = std::vector<std::string>;
  CHECK(engine::expand_hostlist("gpu[01-03,07],login1") == V{"gpu01", "gpu02", "gpu03", "gpu07", "login1"});
  CHECK(engine::expand_hostlist("node7") == V{"node7"});
  CHECK(engine::expand_hostlist("r[1-2]-n[8-9]") == V{"r1-n8", "r1-n9", "r2-n8", "r2-n9"});
  CHECK(engine::expand_hostlist("a[9-10]") == V{"a9", "a10"});
  CHECK(error_of([] { engine::expand_hostlist("gpu[3-1]"); }).find("SLURM_JOB_NODELIST: descending range") == 0);
  CHECK(error_of([] { engine::expand_hostlist("gpu[1-2"); }).find("SLURM_JOB_NODELIST: unbalanced '['") == 0);
  CHECK(error_of([] { engine::expand_hostlist("gpu[x]"); }).find("SLURM_JOB_NODELIST: expected a number") == 0);
}

TEST_CASE("the rendezvous comes from torchrun's variables, else Slurm's, else there is none", "[distributed]") {
  CHECK(!engine::rendezvous_from_env(env_of({})));
  CHECK(!engine::rendezvous_from_env(env_of({{"WORLD_SIZE", "1"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}})));
  CHECK(!engine::rendezvous_from_env(env_of({{"SLURM_NTASKS", "1"}, {"SLURM_PROCID", "0"}})));
  // ... unless a group of one is asked for, to measure the gradient sums' cost.
  const auto one = engine::rendezvous_from_env(env_of(
      {{"WORLD_SIZE", "1"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}, {"ATTUNE_GROUP_OF_ONE", "1"}}));
  REQUIRE(one);
  CHECK(one->world_size == 1);

  const auto t = engine::rendezvous_from_env(env_of({{"WORLD_SIZE", "8"}, {"RANK", "5"}, {"LOCAL_RANK", "1"},
                                                     {"LOCAL_WORLD_SIZE", "4"}, {"MASTER_ADDR", "node0"},
                                                     {"MASTER_PORT", "29500"}, {"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "1"}}));
  REQUIRE(t);
  CHECK(t->launcher == "torchrun");
  CHECK((t->rank == 5 && t->world_size == 8 && t->local_rank == 1 && t->local_world_size == 4));
  CHECK((t->master_addr == "node0" && t->master_port == 29500));

  const auto s = engine::rendezvous_from_env(env_of({{"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "6"}, {"SLURM_LOCALID", "2"},
                                                     {"SLURM_JOB_NUM_NODES", "2"}, {"SLURM_JOB_NODELIST", "gpu[07-08]"},
                                                     {"SLURM_JOB_ID", "123456"}}));
  REQUIRE(s);
  CHECK(s->launcher == "slurm");
  CHECK((s->rank == 6 && s->world_size == 8 && s->local_rank == 2 && s->local_world_size == 4));
  CHECK((s->master_addr == "gpu07" && s->master_port == 15000 + 123456 % 20000));

  CHECK(error_of([] { engine::rendezvous_from_env(env_of({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}})); })
            .find("RANK: expected a number in [0, 1], got '2'") == 0);
  CHECK(error_of([] { engine::rendezvous_from_env(env_of({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_PORT", "1"}})); })
            .find("MASTER_ADDR: not set") == 0);
  CHECK(error_of([] { engine::rendezvous_from_env(env_of({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})); })
            .find("MASTER_PORT: expected a number in [1, 65535]") == 0);
  CHECK(error_of([] { engine::rendezvous_from_env(env_of({{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "0"}, {"SLURM_LOCALID", "0"}})); })
            .find("SLURM_JOB_NODELIST: not set") == 0);
}

TEST_CASE("each rank takes every world-th batch of a step, weighted by its share of the step's examples", "[distributed]") {
  const engine::BatchPlan plan = {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {12, 13}, {14}};
  CHECK(engine::rank_micro_batches(0, 4, 0, 2) == std::vector<int64_t>{0, 2});
  CHECK(engine::rank_micro_batches(0, 4, 1, 2) == std::vector<int64_t>{1, 3});
  CHECK(engine::rank_micro_batches(4, 5, 1, 2).empty());  // the epoch's last step leaves rank 1 without a batch
  const auto w0 = engine::rank_micro_batch_weights(plan, 0, 4, {0, 2});
  const auto w1 = engine::rank_micro_batch_weights(plan, 0, 4, {1, 3});
  CHECK(w0 == std::vector<double>{4.0 / 14, 4.0 / 14});
  CHECK(w1 == std::vector<double>{4.0 / 14, 2.0 / 14});
  // One rank is the old single-process weighting exactly.
  CHECK(engine::rank_micro_batch_weights(plan, 0, 4, engine::rank_micro_batches(0, 4, 0, 1)) ==
        engine::micro_batch_weights(plan, 0, 4));
}

TEST_CASE("the reducer sums gradients over a Gloo group; a gradient missing everywhere stays missing", "[distributed]") {
  if (!attune::testing::gloo_or_skip()) return;
  std::vector<std::vector<torch::Tensor>> grads(2);
  std::vector<std::string> texts(2);
  std::vector<bool> any(2);
  const std::vector<std::string> errors = ddp_unit::on_two_ranks([&](int rank, engine::Distributed& group) {
    // a: both ranks; b: rank 0 only; c: nobody; d: large enough for a second bucket.
    std::vector<torch::Tensor> params = {torch::zeros({3}).requires_grad_(), torch::zeros({2, 2}).requires_grad_(),
                                         torch::zeros({2}).requires_grad_(), torch::zeros({40}).requires_grad_()};
    params[0].mutable_grad() = torch::full({3}, rank + 1.0);
    if (rank == 0) params[1].mutable_grad() = torch::ones({2, 2});
    params[3].mutable_grad() = torch::arange(40, torch::kFloat) * (rank + 1);
    engine::GradReducer reducer(group, params, /*bucket_bytes=*/40 * 4);
    CHECK(reducer.buckets() == 2);
    reducer.reduce();
    for (auto& p : params) grads[rank].push_back(p.grad());

    // c had no gradient anywhere: later steps do not wait for it, so both buckets start
    // during backward; given a gradient after all, it fails the run.
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    reducer.arm();
    ((params[0] * (rank + 1)).sum() + params[1].sum() + params[3].sum()).backward();
    reducer.reduce();
    CHECK(reducer.overlapped() == 2);
    CHECK(torch::equal(params[0].grad(), torch::full({3}, 3.0)));
    CHECK(torch::equal(params[1].grad(), torch::full({2, 2}, 2.0)));
    CHECK(!params[2].grad().defined());
    reducer.arm();
    CHECK_THROWS_WITH((params[2].sum() + params[0].sum()).backward(),
                      attune::testing::contains_text("parameter 2 of 4 (shape [2]) got a gradient, but none in the first step"));

    // Armed before a backward, the buckets start as their gradients arrive, in order.
    std::vector<torch::Tensor> used = {torch::ones({3}).requires_grad_(), torch::ones({40}).requires_grad_()};
    engine::GradReducer during(group, used, /*bucket_bytes=*/40 * 4);
    used[0].mutable_grad() = torch::full({3}, 10.0);  // an earlier micro-batch's, accumulated on
    during.arm();
    ((used[0] * (rank + 1)).sum() + (used[1] * (rank + 1)).sum()).backward();
    during.reduce();
    CHECK(during.overlapped() == 2);
    CHECK(torch::equal(used[0].grad(), torch::full({3}, 23.0)));
    CHECK(torch::equal(used[1].grad(), torch::full({40}, 3.0)));
    texts[rank] = group.broadcast_string(rank == 0 ? "from rank 0" : "ignored");
    any[rank] = group.any(rank == 1);
    group.barrier();
  });
  INFO(errors[0] << " | " << errors[1]);
  REQUIRE((errors[0].empty() && errors[1].empty()));
  for (int r = 0; r < 2; ++r) {
    CHECK(torch::equal(grads[r][0], torch::full({3}, 3.0)));
    CHECK(torch::equal(grads[r][1], torch::ones({2, 2})));
    CHECK(!grads[r][2].defined());
    CHECK(torch::equal(grads[r][3], torch::arange(40, torch::kFloat) * 3));
    CHECK(texts[r] == "from rank 0");
    CHECK(any[r]);
  }
}

TEST_CASE("a sharded evaluation deals out the batches and puts every rank's part together on all", "[distributed]") {
  const engine::EvalShard alone;
  CHECK(alone.owns(0));
  CHECK(alone.owns(7));
  const torch::Tensor x = torch::arange(6, torch::kDouble);
  CHECK(alone.combine(x).is_same(x));
  if (!attune::testing::gloo_or_skip()) return;
  std::vector<std::vector<bool>> owned(2);
  std::vector<torch::Tensor> floats(2), longs(2);
  std::vector<std::vector<std::string>> texts(2);
  std::vector<std::vector<double>> sums(2);
  const std::vector<std::string> errors = ddp_unit::on_two_ranks([&](int rank, engine::Distributed& group) {
    const engine::EvalShard shard(&group);
    for (int b = 0; b < 5; ++b) owned[rank].push_back(shard.owns(b));
    // Row b belongs to batch b; each rank fills the rows of its batches.
    torch::Tensor f = torch::zeros({5, 2}, torch::kFloat), l = torch::zeros({5}, torch::kLong);
    std::vector<std::string> t(5);
    engine::PerBatchSums per_batch(5, 2, torch::kCPU);
    for (int b = 0; b < 5; ++b) {
      if (!shard.owns(b)) continue;
      f[b] = torch::tensor({b + 0.25f, -1.0f * b});
      l[b] = 10 * b + 1;
      t[b] = b == 3 ? "" : "text " + std::to_string(b);
      per_batch.set(b, torch::tensor({0.1 * (b + 1), 1.0}, torch::kDouble));
    }
    floats[rank] = shard.combine(f);
    longs[rank] = shard.combine(l);
    texts[rank] = shard.combine(t);
    sums[rank] = per_batch.total(shard);
  });
  INFO(errors[0] << " | " << errors[1]);
  REQUIRE((errors[0].empty() && errors[1].empty()));
  CHECK(owned[0] == std::vector<bool>{true, false, true, false, true});
  CHECK(owned[1] == std::vector<bool>{false, true, false, true, false});
  double expected = 0.0;
  for (int b = 0; b < 5; ++b) expected += 0.1 * (b + 1);  // in batch order, as one process adds them
  for (int r = 0; r < 2; ++r) {
    CHECK(floats[r].scalar_type() == torch::kFloat);
    CHECK(torch::equal(floats[r].select(1, 0), torch::arange(5, torch::kFloat) + 0.25f));
    CHECK(torch::equal(longs[r], torch::arange(5, torch::kLong) * 10 + 1));
    CHECK(texts[r] == std::vector<std::string>{"text 0", "text 1", "text 2", "", "text 4"});
    CHECK(sums[r] == std::vector<double>{expected, 5.0});
  }
}

TEST_CASE("ranks with different fingerprints are refused at the rendezvous, naming what differs", "[distributed]") {
  if (!attune::testing::gloo_or_skip()) return;
  const int port = engine::free_port("127.0.0.1");
  engine::DistributedOptions options;
  options.timeout = std::chrono::seconds(20);
  std::vector<std::string> errors(2);
  auto rank_main = [&](int rank) {
    Rendezvous where;
    where.rank = rank;
    where.world_size = 2;
    where.master_addr = "127.0.0.1";
    where.master_port = static_cast<uint16_t>(port);
    errors[rank] = error_of([&] { engine::Distributed::connect(where, engine::Fingerprint{"c", rank ? "y" : "x", "d"}, options); });
  };
  std::thread r0(rank_main, 0), r1(rank_main, 1);
  r0.join();
  r1.join();
  for (int r = 0; r < 2; ++r) CHECK(errors[r].find("rendezvous: rank 1's attune executable differs from rank 0's") == 0);
}

TEST_CASE("ZeRO's partition owns every parameter once, balances elements and is a function of the sizes", "[distributed][zero]") {
  const std::vector<int64_t> sizes = {100, 10, 10, 50, 40, 5};
  const engine::ZeroPartition two(sizes, 2);
  // Largest first, each to the lighter rank (ties to rank 0): 100->0, 50->1, 40->1, 10->1, 10->0, 5->1.
  CHECK(two.owned_by(0) == std::vector<size_t>{0, 2});
  CHECK(two.owned_by(1) == std::vector<size_t>{1, 3, 4, 5});
  CHECK(two.elements_of(0) == 110);
  CHECK(two.elements_of(1) == 105);

  // Sizes like a transformer's (embeddings, square and wide matrices, vectors), over 1 to 8 ranks.
  std::vector<int64_t> model = {30522 * 768, 512 * 768, 2 * 768, 768, 768};
  for (int layer = 0; layer < 12; ++layer) {
    for (int64_t n : {768 * 768, 768, 768 * 768, 768, 768 * 768, 768, 768 * 768, 768, 768, 768, 768 * 3072, 3072,
                      3072 * 768, 768, 768, 768}) {
      model.push_back(n);
    }
  }
  const int64_t total = std::accumulate(model.begin(), model.end(), int64_t{0});
  std::vector<int64_t> by_size = model;
  std::sort(by_size.rbegin(), by_size.rend());
  for (int world = 1; world <= 8; ++world) {
    INFO("world " << world);
    const engine::ZeroPartition p(model, world);
    std::vector<int> times_owned(model.size(), 0);
    int64_t sum = 0, heaviest = 0;
    for (int r = 0; r < world; ++r) {
      int64_t elements = 0;
      for (size_t k : p.owned_by(r)) {
        ++times_owned[k];
        CHECK(p.owner(k) == r);
        elements += model[k];
      }
      CHECK(std::is_sorted(p.owned_by(r).begin(), p.owned_by(r).end()));
      CHECK(elements == p.elements_of(r));
      sum += elements;
      heaviest = std::max(heaviest, elements);
    }
    CHECK(std::all_of(times_owned.begin(), times_owned.end(), [](int n) { return n == 1; }));
    CHECK(sum == total);
    // A rank held at most an even share when it got its last parameter, so none exceeds
    // that by more than the second largest parameter, unless it holds the largest alone.
    CHECK(heaviest <= std::max(total / world + by_size[1], by_size[0]));
    const engine::ZeroPartition again(model, world);
    for (int r = 0; r < world; ++r) CHECK(again.owned_by(r) == p.owned_by(r));
  }
  // More ranks than parameters: some own nothing.
  const engine::ZeroPartition wide({7, 3}, 4);
  CHECK(wide.owned_by(0) == std::vector<size_t>{0});
  CHECK(wide.owned_by(1) == std::vector<size_t>{1});
  CHECK((wide.owned_by(2).empty() && wide.owned_by(3).empty()));
}

TEST_CASE("ZeRO stage 1 on a Gloo group: each rank keeps its shard of AdamW's state, the weights are an unsharded "
          "AdamW's, and rank 0 gathers the whole state for a checkpoint",
          "[distributed][zero]") {
  if (!attune::testing::gloo_or_skip()) return;
  torch::manual_seed(5);
  // p5 never gets a gradient: AdamW makes no state for it, on any rank.
  const std::vector<torch::Tensor> values = {torch::randn({16, 8}), torch::randn({8}), torch::randn({8, 4}),
                                             torch::randn({4}),     torch::randn({6}), torch::randn({3, 3})};
  engine::OptimizerOptions adam;
  adam.lr = 1e-2;
  adam.weight_decay = 0.1;
  constexpr int kSteps = 3;
  auto train = [&](torch::nn::Module& model, engine::AdamW& optimizer, const std::function<void()>& update) {
    const torch::Tensor never = model.named_parameters()["p5"];
    const auto params = engine::parameters_of(optimizer);
    for (int s = 0; s < kSteps; ++s) {
      for (size_t k = 0; k < params.size(); ++k) {
        if (!params[k].is_same(never)) params[k].mutable_grad() = summed_gradient(params[k], k, s);
      }
      update();
    }
    return params;
  };
  GivenParameters reference_model(values);
  auto reference = engine::make_adamw(reference_model, adam);
  const auto expected = train(reference_model, *reference, [&] { reference->step(); });

  const std::string checkpoint = (std::filesystem::temp_directory_path() / "attune-test-zero-optimizer.pt").string();
  struct Seen {
    std::vector<torch::Tensor> weights;
    std::vector<bool> has_state, has_grad;
    std::vector<size_t> owned;
    int64_t shard_bytes = 0, gathered_bytes = 0, dropped_bytes = 0;
  };
  std::vector<Seen> seen(2);
  const std::vector<std::string> errors = ddp_unit::on_two_ranks([&](int rank, engine::Distributed& group) {
    Seen& me = seen[rank];
    GivenParameters model(values);
    auto optimizer = engine::make_adamw(model, adam);
    // Buckets of 64 floats: several per owner, and one tensor larger than a bucket.
    engine::ShardedOptimizerState sharded(group, *optimizer, /*bucket_bytes=*/64 * 4);
    const auto params = train(model, *optimizer, [&] { sharded.step(); });
    me.owned = sharded.partition().owned_by(rank);
    for (const auto& p : params) {
      me.weights.push_back(p.detach().clone());
      me.has_state.push_back(optimizer->state_of(p) != nullptr);
      me.has_grad.push_back(p.grad().defined());
    }
    me.shard_bytes = optimizer->state_bytes();
    sharded.gather_to_main();
    me.gathered_bytes = optimizer->state_bytes();
    if (rank == 0) {
      torch::serialize::OutputArchive archive;
      optimizer->save(archive);
      archive.save_to(checkpoint);
    }
    sharded.drop_foreign_state();
    me.dropped_bytes = optimizer->state_bytes();
    group.barrier();
  });
  INFO(errors[0] << " | " << errors[1]);
  REQUIRE((errors[0].empty() && errors[1].empty()));

  const size_t n = expected.size();
  for (int r = 0; r < 2; ++r) {
    for (size_t k = 0; k < n; ++k) {
      INFO("rank " << r << ", parameter " << k);
      CHECK(torch::equal(seen[r].weights[k], expected[k].detach()));
      // Stage 1 shards no gradient: every rank gets them all back after the step.
      CHECK(seen[r].has_grad[k] == expected[k].grad().defined());
    }
  }
  std::vector<size_t> all = seen[0].owned;
  all.insert(all.end(), seen[1].owned.begin(), seen[1].owned.end());
  std::sort(all.begin(), all.end());
  std::vector<size_t> each(n);
  std::iota(each.begin(), each.end(), size_t{0});
  CHECK(all == each);
  for (size_t k = 0; k < n; ++k) {
    // A state on exactly its owner (none at all for the parameter without a gradient).
    const bool updated = reference->state_of(expected[k]) != nullptr;
    const int owner = std::count(seen[0].owned.begin(), seen[0].owned.end(), k) ? 0 : 1;
    CHECK(seen[owner].has_state[k] == updated);
    CHECK_FALSE(seen[1 - owner].has_state[k]);
  }
  const int64_t unsharded = reference->state_bytes();
  CHECK(unsharded > 0);
  CHECK(seen[0].shard_bytes + seen[1].shard_bytes == unsharded);
  CHECK(seen[0].shard_bytes < unsharded);
  CHECK(seen[1].shard_bytes < unsharded);
  CHECK(seen[0].gathered_bytes == unsharded);
  CHECK(seen[1].gathered_bytes == seen[1].shard_bytes);
  CHECK(seen[0].dropped_bytes == seen[0].shard_bytes);

  // What rank 0 wrote is an unsharded optimizer's state: it loads into one as is.
  GivenParameters loaded_model(values);
  auto loaded = engine::make_adamw(loaded_model, adam);
  torch::serialize::InputArchive archive;
  archive.load_from(checkpoint);
  loaded->load(archive);
  std::filesystem::remove(checkpoint);
  const auto loaded_params = engine::parameters_of(*loaded);
  for (size_t k = 0; k < n; ++k) {
    INFO("parameter " << k);
    const auto* want = reference->state_of(expected[k]);
    const auto* got = loaded->state_of(loaded_params[k]);
    REQUIRE((want == nullptr) == (got == nullptr));
    if (!want) continue;
    CHECK(got->step() == want->step());
    CHECK(torch::equal(got->exp_avg(), want->exp_avg()));
    CHECK(torch::equal(got->exp_avg_sq(), want->exp_avg_sq()));
  }
}
