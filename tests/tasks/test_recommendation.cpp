// Recommendation: interaction logs to sequences, the split, ranking metrics, baselines,
// and a run end to end on generated histories with a known next item.
#include "tests/catch.h"
#include "tasks/registry.h"

#include "data/readers/interactions.h"
#include "tasks/recommendation/baselines.h"
#include "tasks/recommendation/metrics.h"
#include "tasks/recommendation/ranking.h"
#include "tasks/recommendation/sequences.h"
#include "tasks/recommendation/task.h"
#include "core/config.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

using attune::testing::error_of;
using attune::testing::temp_dir;
using attune::testing::write_walks;
using nlohmann::json;
namespace rec = attune::recommendation;

namespace {

std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

attune::data::InteractionColumns timed_columns() {
  attune::data::InteractionColumns c;
  c.time = "t";
  return c;
}

std::vector<std::string> walk_overrides(const std::string& dir, const std::string& model, const std::string& run) {
  return {"data.interactions=" + dir + "/walks.csv", "data.time_column=t", "data.k_core=1", "data.max_history=8",
          "model.name=" + model, "model.hidden_size=32", "model.num_layers=1", "model.num_heads=2",
          "model.intermediate_size=64", "model.dropout=0.0", "train.epochs=25", "train.batch_size=16",
          "train.lr=5e-3", "train.log_every=1000", "device=cpu", "run_dir=" + dir + "/" + run};
}

json train_walks(const std::string& dir, const std::string& model, const std::string& run,
                 std::vector<std::string> extra = {}, attune::engine::TrainFlags flags = {}) {
  json config = rec::default_config();
  std::vector<std::string> overrides = walk_overrides(dir, model, run);
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  attune::config::apply_overrides(config, overrides);
  flags.overwrite = !flags.resume;
  std::ostringstream log;
  flags.log = &log;
  return attune::tasks::train(config, flags);
}

}  // namespace

TEST_CASE("interaction logs: columns, MovieLens layouts, errors naming the line", "[recommendation]") {
  const std::string dir = temp_dir("rec-logs");
  const auto log = attune::data::read_interactions(write_text(dir + "/a.csv", "user,item,t\nu1,a,5\nu2,b,3\n"),
                                                   timed_columns(), "data");
  REQUIRE(log.rows.size() == 2);
  CHECK(log.rows[1].user == "u2");
  CHECK(log.rows[1].time == 3.0);
  CHECK(log.rows[1].line == 3);

  const auto ml = attune::data::read_interactions(write_text(dir + "/ratings.dat", "1::31::2.5::1260759144\n1::10::4::1\n"),
                                                  {}, "data");
  REQUIRE(ml.rows.size() == 2);
  CHECK(ml.rows[0].item == "31");
  CHECK(ml.rows[0].rating == 2.5);
  const auto tab = attune::data::read_interactions(write_text(dir + "/u.data", "196\t242\t3\t881250949\n"), {}, "data");
  CHECK(tab.rows[0].time == 881250949.0);

  CHECK(error_of([&] {
          attune::data::read_interactions(write_text(dir + "/bad.dat", "1::2::3::4\n1::2::3\n"), {}, "data");
        }) == dir + "/bad.dat:2: expected 4 fields (user, item, rating, timestamp) separated by '::', found 3");
  CHECK(error_of([&] {
          attune::data::read_interactions(write_text(dir + "/b.csv", "user,item,t\nu1,a,yesterday\n"), timed_columns(), "data");
        }) == dir + "/b.csv:2: t 'yesterday' is not a number");
  CHECK(error_of([&] {
          attune::data::read_interactions(write_text(dir + "/c.csv", "user,item,t\nu1,,1\n"), timed_columns(), "data");
        }) == dir + "/c.csv:2: empty item");
  CHECK(error_of([&] {
          attune::data::read_interactions(write_text(dir + "/d.csv", "user,product\nu1,a\n"), {}, "data");
        }).find("data.item_column") != std::string::npos);
}

TEST_CASE("sequences: time order with stable ties, iterated k-core, leave-one-out", "[recommendation]") {
  const std::string dir = temp_dir("rec-seq");
  // u1 has a tie at t=2 (file order c, b). With k = 3: item z appears once; dropping it
  // leaves u3 with two items, and dropping u3 leaves item y with one interaction: the
  // k-core filter must repeat to catch that.
  const std::string path = write_text(dir + "/log.csv",
                                      "user,item,t\n"
                                      "u1,c,2\nu1,a,1\nu1,d,3\nu1,b,2\nu1,y,4\n"
                                      "u2,a,1\nu2,b,2\nu2,c,3\nu2,d,4\n"
                                      "u3,y,1\nu3,z,2\nu3,d,3\n"
                                      "u4,a,5\nu4,b,6\nu4,c,7\nu4,d,8\n");
  const auto log = attune::data::read_interactions(path, timed_columns(), "data");
  rec::SequenceOptions options;
  options.k_core = 3;
  const rec::UserSequences s = rec::build_sequences(log, options);
  REQUIRE(s.catalog.users == std::vector<std::string>{"u1", "u2", "u4"});
  auto names = [&](const std::vector<int64_t>& ids) {
    std::vector<std::string> out;
    for (int64_t i : ids) out.push_back(s.catalog.items[i]);
    return out;
  };
  CHECK(names(s.sequences[0]) == std::vector<std::string>{"a", "c", "b", "d"});
  CHECK(s.catalog.num_items() == 4);
  CHECK(s.interactions == 12);

  const rec::LeaveOneOut split = rec::leave_one_out({{1, 2, 3, 4}, {5, 6}, {7, 8, 9}});
  CHECK(split.train == std::vector<std::vector<int64_t>>{{1, 2}, {5, 6}, {7}});
  REQUIRE(split.valid.size() == 2);
  CHECK(split.valid[0].target == 3);
  CHECK(split.valid[0].history == std::vector<int64_t>{1, 2});
  CHECK(split.test[0].target == 4);
  CHECK(split.test[0].history == std::vector<int64_t>{1, 2, 3});
  CHECK(split.test[1].user == 2);
  CHECK(split.test[1].history == std::vector<int64_t>{7, 8});

  options.k_core = 10;
  CHECK(error_of([&] { rec::build_sequences(log, options); }).find("no user has 10 or more") != std::string::npos);
}

TEST_CASE("ranking metrics on hand-made rankings", "[recommendation]") {
  // Target column 2. Row 0: two items above it. Row 1: one above, one tied (ties count
  // against). Row 2: the item above is excluded, so it is first. Row 3: NaN is the worst.
  const torch::Tensor scores = torch::tensor({{0.f, 5.f, 3.f, 4.f, 1.f},
                                              {0.f, 5.f, 3.f, 3.f, 1.f},
                                              {0.f, 9.f, 3.f, 1.f, 1.f},
                                              {0.f, 1.f, NAN, 0.5f, 2.f}});
  torch::Tensor excluded = torch::zeros({4, 5}, torch::kBool);
  excluded[2][1] = true;
  const torch::Tensor ranks = rec::target_ranks(scores, torch::tensor({2, 2, 2, 2}), excluded);
  CHECK(ranks.to(torch::kLong).equal(torch::tensor({2, 2, 0, 4}).to(torch::kLong)));

  rec::RankingMetrics m;
  for (int64_t r : {0, 4, 9, 30}) m.add(r);
  const json j = m.result("full");
  CHECK(j["hr@5"].get<double>() == Approx(0.5));
  CHECK(j["hr@10"].get<double>() == Approx(0.75));
  CHECK(j["hr@20"].get<double>() == Approx(0.75));
  CHECK(j["ndcg@5"].get<double>() == Approx((1.0 + 1.0 / std::log2(6.0)) / 4));
  CHECK(j["ndcg@10"].get<double>() == Approx((1.0 + 1.0 / std::log2(6.0) + 1.0 / std::log2(11.0)) / 4));
  CHECK(j["mrr"].get<double>() == Approx((1.0 + 0.2 + 0.1 + 1.0 / 31) / 4));
  CHECK(j["cases"] == 4);
}

TEST_CASE("rank_cases: full ranking leaves out the history; sampled100 ranks among 101", "[recommendation]") {
  // Scores favour low item ids; the history holds the best items, so full ranking
  // puts the target (item 5) right after them once they are excluded.
  const int64_t n = 300;
  rec::CaseScorer scorer = [&](const std::vector<const rec::EvalCase*>& cases) {
    return (-torch::arange(n + 2, torch::kFloat)).unsqueeze(0).expand({static_cast<int64_t>(cases.size()), -1});
  };
  const std::vector<rec::EvalCase> cases = {{0, 5, {1, 2, 3}, {}}, {1, 5, {7}, {}}};
  const json full = rec::rank_cases(cases, scorer, n, 1, "full", 0);
  CHECK(full["mrr"].get<double>() == Approx((1.0 / 2 + 1.0 / 5) / 2));  // ranks 1 and 4
  const json sampled = rec::rank_cases(cases, scorer, n, 2, "sampled100", 7);
  CHECK(sampled["protocol"] == "sampled100");
  CHECK(sampled["hr@10"].get<double>() >= full["hr@10"].get<double>());
}

TEST_CASE("baselines: popularity counts and co-occurrence cosine", "[recommendation]") {
  const std::vector<std::vector<int64_t>> train = {{1, 2}, {1, 2, 3}, {3}};
  const torch::Tensor pop = rec::popularity(train, 3);
  CHECK(pop.equal(torch::tensor({0.f, 2.f, 2.f, 2.f, 0.f})));
  const torch::Tensor sim = rec::item_similarity(train, 3, 0);
  CHECK(sim[1][2].item<float>() == Approx(1.0));  // always together
  CHECK(sim[1][3].item<float>() == Approx(0.5));  // 1 of 2 and 2
  CHECK(sim[1][1].item<float>() == 0.0f);
  const std::vector<int64_t> history = {1};
  const torch::Tensor scores = rec::knn_scores(sim, {&history});
  CHECK(scores[0][2].item<float>() > scores[0][3].item<float>());
}

TEST_CASE("sasrec learns a known next item; popularity cannot; eval and recommend use the run", "[recommendation]") {
  const std::string dir = temp_dir("rec-walks");
  write_walks(dir, 90, 11);
  const json popular = train_walks(dir, "popular", "popular");
  const json sasrec = train_walks(dir, "sasrec", "sasrec", {"objective.loss=softmax"});
  INFO(sasrec.dump());
  CHECK(popular["test"]["mrr"].get<double>() < 0.4);
  CHECK(sasrec["test"]["hr@5"].get<double>() > 0.9);
  CHECK(sasrec["test"]["protocol"] == "full");

  // eval without data gives the run's own test metrics again.
  const json again = rec::evaluate_run(dir + "/sasrec", "", {}, "cpu");
  CHECK(again["mrr"].get<double>() == Approx(sasrec["test"]["mrr"].get<double>()));

  // Later interactions of known users: the walk continues.
  write_text(dir + "/later.csv", "user,item,t,age\nu0,m" + std::string("X") + ",5000,old\n");
  std::ifstream walks(dir + "/walks.csv");
  std::string line, last_u0;
  while (std::getline(walks, line))
    if (line.rfind("u0,", 0) == 0) last_u0 = line;
  const int next = (std::stoi(last_u0.substr(4, last_u0.find(',', 4) - 4)) + 1) % 20;
  write_text(dir + "/later.csv", "user,item,t,age\nu0,m" + std::to_string(next) + ",5000,old\n");
  CHECK(rec::evaluate_run(dir + "/sasrec", dir + "/later.csv", {}, "cpu")["hr@5"].get<double>() == 1.0);
  write_text(dir + "/stranger.csv", "user,item,t,age\nu0,m1,5000,old\nnobody,m1,5001,old\n");
  CHECK(error_of([&] { rec::evaluate_run(dir + "/sasrec", dir + "/stranger.csv", {}, "cpu"); }) ==
        dir + "/stranger.csv:3: unknown user 'nobody' (not in the run)");
  write_text(dir + "/new_item.csv", "user,item,t,age\nu0,m99,5000,old\n");
  CHECK(error_of([&] { rec::evaluate_run(dir + "/sasrec", dir + "/new_item.csv", {}, "cpu"); }) ==
        dir + "/new_item.csv:2: unknown item 'm99' (not in the run)");

  // recommend: the next item of a history comes first, history items never come back.
  std::istringstream in("{\"history\": [\"m3\", \"m4\", \"m5\"]}\n{\"user\": \"u1\"}\n");
  std::ostringstream out;
  rec::recommend_run(dir + "/sasrec", in, "req.jsonl", out, "cpu", 8, 3);
  std::istringstream lines(out.str());
  std::getline(lines, line);
  const json first = json::parse(line);
  REQUIRE(first["items"].size() == 3);
  CHECK(first["items"][0]["item"] == "m6");
  for (const auto& item : first["items"]) CHECK((item["item"] != "m3" && item["item"] != "m4" && item["item"] != "m5"));
  std::getline(lines, line);
  CHECK(json::parse(line)["items"].size() == 3);

  auto recommend_error = [&](const std::string& request) {
    return error_of([&] {
      std::istringstream bad(request);
      std::ostringstream sink;
      rec::recommend_run(dir + "/sasrec", bad, "req.jsonl", sink, "cpu", 8, 3);
    });
  };
  CHECK(recommend_error("{\"history\": []}\n") == "req.jsonl:1: empty history: nothing to recommend from");
  CHECK(recommend_error("\n{\"history\": [\"m1\", \"nope\"]}\n") ==
        "req.jsonl:2: unknown item 'nope' in \"history\" (not in the run's catalogue)");
  CHECK(recommend_error("{\"user\": \"ghost\"}\n") == "req.jsonl:1: unknown user 'ghost' (give a \"history\" instead)");
  CHECK(recommend_error("{\"history\": [\"m1\"\n") .rfind("req.jsonl:1: invalid JSON", 0) == 0);
  CHECK(recommend_error("[1, 2]\n") == "req.jsonl:1: expected an object with \"user\" or \"history\"");
}

TEST_CASE("bert4rec and context train on the walks and beat popularity", "[recommendation]") {
  const std::string dir = temp_dir("rec-walks-2");
  write_walks(dir, 90, 12);
  const json popular = train_walks(dir, "popular", "popular");
  const json bert = train_walks(dir, "bert4rec", "bert4rec", {"objective.loss=softmax", "model.mask_probability=0.3"});
  const json context = train_walks(dir, "context", "context",
                                   {"objective.loss=sampled-softmax", "objective.negatives=10",
                                    "data.user_feature_columns=[\"age\"]"});
  INFO(bert.dump() << "\n" << context.dump());
  CHECK(bert["test"]["mrr"].get<double>() > popular["test"]["mrr"].get<double>() + 0.2);
  CHECK(context["test"]["hr@5"].get<double>() > 0.9);
  CHECK(error_of([&] { train_walks(dir, "context", "context-softmax", {"objective.loss=softmax"}); })
            .rfind("objective.loss: the context model trains with bce or sampled-softmax", 0) == 0);
  CHECK(error_of([&] { train_walks(dir, "sasrec", "bad-feature", {"data.user_feature_columns=[\"height\"]"}); })
            .find("data.user_feature_columns") != std::string::npos);
  CHECK(error_of([&] { train_walks(dir, "sasrec", "no-ratings", {"data.min_rating=3"}); }) ==
        "data.min_rating: " + dir + "/walks.csv has no ratings (set data.rating_column)");
  CHECK(error_of([&] { train_walks(dir, "sasrec", "features-not-names", {"data.user_feature_columns=[\"age\", 3]"}); }) ==
        "data.user_feature_columns: expected a list of names, got [\"age\",3]");

  // A history request without a user: its features by value; an unknown column fails.
  auto recommend = [&](const std::string& request) {
    std::istringstream in(request);
    std::ostringstream out;
    rec::recommend_run(dir + "/context", in, "req.jsonl", out, "cpu", 4, 3);
    return out.str();
  };
  CHECK(json::parse(recommend("{\"history\": [\"m1\"], \"features\": {\"age\": \"young\"}}\n"))["items"].size() == 3);
  CHECK(error_of([&] { recommend("{\"history\": [\"m1\"], \"features\": {\"height\": 3}}\n"); }) ==
        "req.jsonl:1: missing feature 'age'");
}

TEST_CASE("an interrupted recommendation run resumes to the same result", "[recommendation]") {
  const std::string dir = temp_dir("rec-resume");
  write_walks(dir, 60, 13);
  const std::vector<std::string> short_run = {"train.epochs=4", "train.checkpoint_every=3", "objective.negatives=3"};
  const json whole = train_walks(dir, "sasrec", "whole", short_run);
  attune::engine::TrainFlags stop;
  stop.stop_requested = [](int64_t step) { return step == 7; };
  const json cut = train_walks(dir, "sasrec", "cut", short_run, stop);
  REQUIRE(cut["interrupted"] == true);
  attune::engine::TrainFlags resume;
  resume.resume = true;
  const json resumed = train_walks(dir, "sasrec", "cut", short_run, resume);
  CHECK(resumed["steps"] == whole["steps"]);
  CHECK(resumed["test"]["mrr"].get<double>() == Approx(whole["test"]["mrr"].get<double>()).epsilon(1e-6));
  CHECK(resumed["valid"]["ndcg@10"].get<double>() == Approx(whole["valid"]["ndcg@10"].get<double>()).epsilon(1e-6));
}
