#include "tasks/translation/decoding.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attune::translation {
namespace {

// Per-row limit on generated tokens (EOS included).
std::vector<int64_t> length_limits(const StepModel& model, const torch::Tensor& src_ids, const DecodeOptions& o) {
  const torch::Tensor lengths = src_ids.ne(o.pad_id).sum(1).cpu();
  // Position 0 holds BOS, so at most max_positions - 1 tokens can follow it.
  const int64_t cap = model.max_positions() - 1;
  std::vector<int64_t> limits;
  for (int64_t b = 0; b < lengths.size(0); ++b) {
    const double l = std::ceil(o.max_length_ratio * lengths[b].item<double>()) + static_cast<double>(o.max_length_extra);
    limits.push_back(std::clamp<int64_t>(static_cast<int64_t>(l), 1, cap));
  }
  return limits;
}

// Log-probabilities (rows, V) of the token after each row's newest one, `tokens` (rows, 1).
torch::Tensor next_log_probs(StepModel& model, const torch::Tensor& tokens, int64_t pad_id) {
  torch::Tensor log_probs = torch::log_softmax(model.next_logits(tokens).to(torch::kFloat), -1);
  // Padding is never an output token. It is removed after normalisation, as Hugging
  // Face's logits processors do, so beam scores compare with transformers'.
  log_probs.select(1, pad_id).fill_(-std::numeric_limits<float>::infinity());
  return log_probs;
}

}  // namespace

void TransformerStepModel::start(const torch::Tensor& src_ids) {
  source_ = model_->encode(src_ids);
  cache_ = model_->new_cache();
  prefix_ = torch::Tensor();
}

torch::Tensor TransformerStepModel::next_logits(const torch::Tensor& tokens) {
  torch::Tensor hidden;
  if (use_cache_) {
    hidden = model_->decode(tokens, source_, &cache_);
  } else {
    prefix_ = prefix_.defined() ? torch::cat({prefix_, tokens}, 1) : tokens;
    hidden = model_->decode(prefix_, source_, nullptr);
  }
  return model_->project(hidden.select(1, hidden.size(1) - 1));
}

void TransformerStepModel::select(const torch::Tensor& rows) {
  source_ = {source_.memory.index_select(0, rows), source_.mask.index_select(0, rows)};
  if (use_cache_) cache_.select(rows);
  if (prefix_.defined()) prefix_ = prefix_.index_select(0, rows);
}

std::vector<std::vector<int64_t>> greedy_search(StepModel& model, const torch::Tensor& src_ids,
                                                const DecodeOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t batch = src_ids.size(0);
  const std::vector<int64_t> limits = length_limits(model, src_ids, o);
  const int64_t steps = *std::max_element(limits.begin(), limits.end());
  model.start(src_ids);
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(src_ids.device());
  torch::Tensor prefix = torch::full({batch, 1}, o.bos_id, long_options);
  torch::Tensor finished = torch::zeros({batch}, long_options.dtype(torch::kBool));
  const torch::Tensor limit = torch::tensor(limits, torch::kLong).to(src_ids.device());
  for (int64_t step = 0; step < steps; ++step) {
    torch::Tensor next = next_log_probs(model, prefix.slice(1, prefix.size(1) - 1), o.pad_id).argmax(-1);
    next = next.masked_fill(finished, o.pad_id);
    prefix = torch::cat({prefix, next.unsqueeze(1)}, 1);
    finished = finished.logical_or(next.eq(o.eos_id)).logical_or(limit.le(step + 1));
    if (finished.all().item<bool>()) break;
  }
  const torch::Tensor ids = prefix.slice(1, 1).cpu();
  std::vector<std::vector<int64_t>> out(batch);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < std::min(ids.size(1), limits[b]); ++t) {
      const int64_t id = ids[b][t].item<int64_t>();
      if (id == o.eos_id) break;
      out[b].push_back(id);
    }
  }
  return out;
}

void StepModel::join(const torch::Tensor&) {
  throw std::logic_error("this model cannot start sentences while others are being decoded");
}

namespace {

double normalised(double log_prob, int64_t length, double penalty) {
  return log_prob / std::pow(static_cast<double>(length), penalty);
}

}  // namespace

BeamSearch::BeamSearch(StepModel& model, const DecodeOptions& options) : model_(&model), options_(options) {
  TORCH_CHECK(options.beam_size >= 1, "beam_search: beam_size must be at least 1");
}

void BeamSearch::add(const torch::Tensor& src_ids, const std::vector<int64_t>& ids) {
  TORCH_CHECK(src_ids.size(0) == static_cast<int64_t>(ids.size()), "BeamSearch::add: ", ids.size(), " ids for ",
              src_ids.size(0), " sources");
  if (ids.empty()) return;
  torch::NoGradGuard no_grad;
  const int64_t n = src_ids.size(0), k = options_.beam_size, rows = static_cast<int64_t>(history_.size());
  const std::vector<int64_t> limits = length_limits(*model_, src_ids, options_);
  if (sentences_.empty()) {
    device_ = src_ids.device();
    model_->start(src_ids);
  } else {
    model_->join(src_ids);
  }
  // Each new source becomes k rows; the rows already running stay as they are.
  if (k > 1) {
    const torch::Tensor kept = torch::arange(rows, torch::kLong);
    const torch::Tensor expanded = torch::arange(n, torch::kLong).repeat_interleave(k) + rows;
    model_->select(torch::cat({kept, expanded}).to(src_ids.device()));
  }
  for (int64_t i = 0; i < n; ++i) {
    sentences_.push_back({ids[i], limits[i]});
    for (int64_t beam = 0; beam < k; ++beam) {
      history_.push_back({options_.bos_id});
      // Only beam 0 starts alive, so the first step's k candidates are distinct tokens.
      scores_.push_back(beam == 0 ? 0.0 : -std::numeric_limits<double>::infinity());
    }
  }
}

std::vector<BeamSearch::Finished> BeamSearch::step() {
  std::vector<Finished> finished;
  if (sentences_.empty()) return finished;
  torch::NoGradGuard no_grad;
  const DecodeOptions& o = options_;
  const int64_t k = o.beam_size, rows = static_cast<int64_t>(history_.size());
  std::vector<int64_t> last(rows);
  for (int64_t r = 0; r < rows; ++r) last[r] = history_[r].back();
  const torch::Tensor tokens = torch::tensor(last, torch::kLong).view({rows, 1}).to(device_);
  const torch::Tensor log_probs = next_log_probs(*model_, tokens, o.pad_id);
  const int64_t vocab = log_probs.size(1);
  const torch::Tensor totals =
      (log_probs.to(torch::kDouble) + torch::tensor(scores_, torch::kDouble).to(device_).unsqueeze(1))
          .view({static_cast<int64_t>(sentences_.size()), k * vocab});
  auto top = totals.topk(std::min<int64_t>(2 * k, k * vocab), 1);
  const torch::Tensor top_scores = std::get<0>(top).cpu();
  const torch::Tensor top_ids = std::get<1>(top).cpu();
  const auto top_s = top_scores.accessor<double, 2>();
  const auto top_i = top_ids.accessor<int64_t, 2>();

  std::vector<int64_t> keep_rows;
  std::vector<Sentence> still_open;
  std::vector<std::vector<int64_t>> next_history;
  std::vector<double> next_scores;
  for (size_t j = 0; j < sentences_.size(); ++j) {
    Sentence& sentence = sentences_[j];
    const int64_t length = ++sentence.generated;
    std::vector<std::pair<int64_t, int64_t>> alive;  // (row, token)
    std::vector<double> alive_scores;
    for (int64_t rank = 0; rank < top_ids.size(1) && static_cast<int64_t>(alive.size()) < k; ++rank) {
      const int64_t row = static_cast<int64_t>(j) * k + top_i[j][rank] / vocab;
      const int64_t token = top_i[j][rank] % vocab;
      const double score = top_s[j][rank];
      if (!std::isfinite(score)) break;
      if (token == o.eos_id) {
        // Only an EOS among the best k candidates ends a hypothesis (as Hugging Face).
        if (rank < k) {
          sentence.done.push_back({normalised(score, length, o.length_penalty),
                                   std::vector<int64_t>(history_[row].begin() + 1, history_[row].end())});
        }
        continue;
      }
      alive.emplace_back(row, token);
      alive_scores.push_back(score);
    }
    const bool at_limit = length >= sentence.limit;
    if (static_cast<int64_t>(sentence.done.size()) >= k || at_limit || alive.empty()) {
      if (static_cast<int64_t>(sentence.done.size()) < k) {
        for (size_t a = 0; a < alive.size(); ++a) {
          std::vector<int64_t> hypothesis(history_[alive[a].first].begin() + 1, history_[alive[a].first].end());
          hypothesis.push_back(alive[a].second);
          sentence.done.push_back({normalised(alive_scores[a], length, o.length_penalty), std::move(hypothesis)});
        }
      }
      // The first best wins ties, so the result does not depend on sort stability.
      const Hypothesis* best = nullptr;
      for (const Hypothesis& h : sentence.done) {
        if (!best || h.score > best->score) best = &h;
      }
      finished.push_back({sentence.id, best ? best->tokens : std::vector<int64_t>{}});
      continue;
    }
    for (size_t a = 0; a < alive.size(); ++a) {
      keep_rows.push_back(alive[a].first);
      next_history.push_back(history_[alive[a].first]);
      next_history.back().push_back(alive[a].second);
      next_scores.push_back(alive_scores[a]);
    }
    // Fewer than k live candidates (tiny vocabularies): pad with dead beams.
    for (size_t a = alive.size(); static_cast<int64_t>(a) < k; ++a) {
      keep_rows.push_back(alive[0].first);
      next_history.push_back(history_[alive[0].first]);
      next_history.back().push_back(alive[0].second);
      next_scores.push_back(-std::numeric_limits<double>::infinity());
    }
    still_open.push_back(std::move(sentence));
  }
  sentences_ = std::move(still_open);
  history_ = std::move(next_history);
  scores_ = std::move(next_scores);
  // With every sentence ended the model's rows are dropped at the next add (start()).
  if (!sentences_.empty()) model_->select(torch::tensor(keep_rows, torch::kLong).to(device_));
  return finished;
}

std::vector<std::vector<int64_t>> beam_search(StepModel& model, const torch::Tensor& src_ids,
                                              const DecodeOptions& o) {
  BeamSearch search(model, o);
  std::vector<int64_t> ids(static_cast<size_t>(src_ids.size(0)));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i);
  search.add(src_ids, ids);
  std::vector<std::vector<int64_t>> out(ids.size());
  while (search.open() > 0) {
    for (BeamSearch::Finished& f : search.step()) out[static_cast<size_t>(f.id)] = std::move(f.tokens);
  }
  return out;
}

std::vector<std::vector<int64_t>> generate(StepModel& model, const torch::Tensor& src_ids, const DecodeOptions& options) {
  return options.beam_size == 1 ? greedy_search(model, src_ids, options) : beam_search(model, src_ids, options);
}

std::vector<std::vector<int64_t>> greedy_search(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                                const DecodeOptions& options) {
  TransformerStepModel step(model, options.use_cache);
  return greedy_search(step, src_ids, options);
}

std::vector<std::vector<int64_t>> beam_search(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                              const DecodeOptions& options) {
  TransformerStepModel step(model, options.use_cache);
  return beam_search(step, src_ids, options);
}

std::vector<std::vector<int64_t>> generate(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                           const DecodeOptions& options) {
  TransformerStepModel step(model, options.use_cache);
  return generate(step, src_ids, options);
}

}  // namespace attune::translation
