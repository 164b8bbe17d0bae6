#include "tasks/translation/translate.h"

#include "data/batching.h"
#include "core/compat.h"
#include "tasks/translation/examples.h"
#include "tasks/translation/metrics.h"

#include <algorithm>

namespace attune::translation {

std::vector<int64_t> source_ids(const text::TranslationTokenizer& tokenizer, const std::string& line,
                                int64_t max_positions, int64_t eos_id) {
  if (line.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  std::vector<int64_t> ids = tokenizer.encode_source(line);
  // Sources longer than the positions are cut, keeping room for EOS.
  ids.resize(std::min<size_t>(ids.size(), static_cast<size_t>(std::max<int64_t>(0, max_positions - 1))));
  ids.push_back(eos_id);
  return ids;
}

torch::Tensor pad_sources(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id) {
  size_t width = 1;
  for (const auto& r : rows) width = std::max(width, r.size());
  torch::Tensor src = torch::full({static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)}, pad_id, torch::kLong);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r].empty()) src[static_cast<int64_t>(r)].slice(0, 0, static_cast<int64_t>(rows[r].size())).copy_(torch::tensor(rows[r]));
  }
  return src;
}

std::vector<std::string> translate_lines(StepModel& model, const text::TranslationTokenizer& tokenizer,
                                         const std::vector<std::string>& lines, const DecodeOptions& options,
                                         int64_t max_tokens, const torch::Device& device, bool bf16,
                                         const engine::EvalShard& shard) {
  torch::NoGradGuard no_grad;
  compat::AutocastGuard autocast(device, bf16);
  const SpecialIds ids = special_ids(tokenizer);
  std::vector<std::vector<int64_t>> sources(lines.size());
  std::vector<int64_t> todo, lengths;
  for (size_t i = 0; i < lines.size(); ++i) {
    sources[i] = source_ids(tokenizer, lines[i], model.max_positions(), ids.eos);
    if (sources[i].empty()) continue;
    todo.push_back(static_cast<int64_t>(i));
    lengths.push_back(static_cast<int64_t>(sources[i].size()));
  }
  std::vector<std::string> out(lines.size());
  const int64_t budget = std::max<int64_t>(1, max_tokens / std::max<int64_t>(1, options.beam_size));
  const auto batches = data::make_token_batches(lengths, lengths, budget, /*shuffle=*/false, 0);
  for (size_t b = 0; b < batches.size(); ++b) {
    if (!shard.owns(static_cast<int64_t>(b))) continue;
    std::vector<std::vector<int64_t>> rows;
    for (int64_t j : batches[b]) rows.push_back(sources[todo[j]]);
    const auto generated = generate(model, pad_sources(rows, ids.pad).to(device), options);
    for (size_t r = 0; r < batches[b].size(); ++r) out[todo[batches[b][r]]] = tokenizer.decode_target(generated[r]);
  }
  return shard.combine(std::move(out));
}

std::vector<std::string> translate_lines(models::Seq2SeqTransformer& model,
                                         const text::TranslationTokenizer& tokenizer,
                                         const std::vector<std::string>& lines, const DecodeOptions& options,
                                         int64_t max_tokens, const torch::Device& device, bool bf16,
                                         const engine::EvalShard& shard) {
  TransformerStepModel step(model, options.use_cache);
  return translate_lines(step, tokenizer, lines, options, max_tokens, device, bf16, shard);
}

nlohmann::json score_translations(const std::vector<std::string>& hypotheses,
                                  const std::vector<std::string>& references) {
  const BleuScore bleu = corpus_bleu(hypotheses, {references});
  return {{"bleu", bleu.score},
          {"chrf", corpus_chrf(hypotheses, {references})},
          {"bleu_details",
           {{"precisions", bleu.precisions}, {"bp", bleu.bp}, {"sys_len", bleu.sys_len}, {"ref_len", bleu.ref_len}}},
          {"sentences", static_cast<int64_t>(hypotheses.size())}};
}

}  // namespace attune::translation
