#include "tasks/translation/examples.h"

#include "core/error.h"

#include <algorithm>
#include <thread>

namespace attune::translation {

std::vector<int64_t> PairExamples::source_lengths() const {
  std::vector<int64_t> out;
  out.reserve(source.size());
  for (const auto& s : source) out.push_back(static_cast<int64_t>(s.size()));
  return out;
}

std::vector<int64_t> PairExamples::target_lengths() const {
  std::vector<int64_t> out;
  out.reserve(target.size());
  for (const auto& t : target) out.push_back(static_cast<int64_t>(t.size()) + 1);
  return out;
}

SpecialIds special_ids(const text::TranslationTokenizer& tokenizer) {
  SpecialIds ids;
  ids.pad = tokenizer.pad_id();
  ids.bos = tokenizer.start_id();
  ids.eos = tokenizer.eos_id();
  if (ids.eos == ids.pad || ids.eos == ids.bos) fail("tokenizer", "translation needs an EOS id apart from pad and BOS");
  return ids;
}

PairExamples tokenize_pairs(const data::ParallelText& text, const text::TranslationTokenizer& tokenizer,
                            const LengthFilter& limits, bool filter, int64_t* dropped, int64_t threads) {
  const int64_t n = text.size();
  const SpecialIds ids = special_ids(tokenizer);
  std::vector<std::vector<int32_t>> source(n), target(n);
  std::vector<char> keep(n, 1);
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::max<int64_t>(1, std::min<int64_t>(threads, n / 256));
  std::vector<std::thread> workers;
  for (int64_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int64_t i = n * t / threads; i < n * (t + 1) / threads; ++i) {
        std::vector<int64_t> s = tokenizer.encode_source(text.source[i]);
        std::vector<int64_t> g = tokenizer.encode_target(text.target[i]);
        const int64_t ls = static_cast<int64_t>(s.size()), lt = static_cast<int64_t>(g.size());
        if (filter) {
          const double ratio = static_cast<double>(std::max(ls, lt) + 1) / static_cast<double>(std::min(ls, lt) + 1);
          keep[i] = ls >= 1 && lt >= 1 && ls <= limits.max_source_tokens && lt <= limits.max_target_tokens &&
                    ratio <= limits.max_ratio;
        } else {
          s.resize(std::min(ls, limits.max_source_tokens));
          g.resize(std::min(lt, limits.max_target_tokens));
        }
        source[i].assign(s.begin(), s.end());
        source[i].push_back(static_cast<int32_t>(ids.eos));
        target[i].assign(g.begin(), g.end());
      }
    });
  }
  for (auto& w : workers) w.join();
  PairExamples out;
  int64_t removed = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!keep[i]) {
      ++removed;
      continue;
    }
    out.source.push_back(std::move(source[i]));
    out.target.push_back(std::move(target[i]));
    out.source_text.push_back(text.source[i]);
    out.target_text.push_back(text.target[i]);
  }
  if (dropped) *dropped = removed;
  return out;
}

void check_parallel_spec(const nlohmann::json& spec, const std::string& key) {
  if (spec.is_null() || spec.is_string()) return;
  if (!spec.is_object()) {
    fail(key, "expected a path (TSV or JSONL) or {\"source\": path, \"target\": path}, got " + spec.dump());
  }
  for (const char* field : {"source", "target"}) {
    if (!spec.contains(field) || !spec[field].is_string()) {
      fail(key + "." + field, "expected a path (two aligned files: {\"source\": ..., \"target\": ...})");
    }
  }
  for (const auto& item : spec.items()) {
    if (item.key() != "source" && item.key() != "target") fail(key + "." + item.key(), "unknown key (known: source, target)");
  }
}

data::ParallelText read_parallel_spec(const nlohmann::json& spec, const std::string& key,
                                      const std::string& source_key, const std::string& target_key) {
  check_parallel_spec(spec, key);
  if (spec.is_null()) fail(key, "no data given (a TSV/JSONL path or {source, target})");
  if (spec.is_string()) return data::read_parallel(spec.get<std::string>(), source_key, target_key);
  return data::read_parallel_files(spec["source"].get<std::string>(), spec["target"].get<std::string>());
}

PairBatch collate_pairs(const PairExamples& examples, const std::vector<int64_t>& batch, const SpecialIds& ids) {
  const int64_t b = static_cast<int64_t>(batch.size());
  int64_t s_len = 1, t_len = 1;
  for (int64_t i : batch) {
    s_len = std::max<int64_t>(s_len, examples.source[i].size());
    t_len = std::max<int64_t>(t_len, examples.target[i].size() + 1);
  }
  PairBatch out;
  out.source = torch::full({b, s_len}, ids.pad, torch::kLong);
  out.target_input = torch::full({b, t_len}, ids.pad, torch::kLong);
  out.labels = torch::full({b, t_len}, -100, torch::kLong);
  auto src = out.source.accessor<int64_t, 2>();
  auto in = out.target_input.accessor<int64_t, 2>();
  auto labels = out.labels.accessor<int64_t, 2>();
  for (int64_t r = 0; r < b; ++r) {
    const auto& s = examples.source[batch[r]];
    const auto& t = examples.target[batch[r]];
    for (size_t j = 0; j < s.size(); ++j) src[r][j] = s[j];
    in[r][0] = ids.bos;
    for (size_t j = 0; j < t.size(); ++j) {
      in[r][j + 1] = t[j];
      labels[r][j] = t[j];
    }
    labels[r][t.size()] = ids.eos;
    out.target_tokens += static_cast<int64_t>(t.size()) + 1;
  }
  return out;
}

}  // namespace attune::translation
