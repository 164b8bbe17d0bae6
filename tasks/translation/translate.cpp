#include "tasks/translation/translate.h"

#include "data/batching.h"
#include "core/compat.h"
#include "tasks/translation/examples.h"
#include "tasks/translation/metrics.h"

#include <algorithm>

namespace attune::translation {

std::vector<std::string> translate_lines(StepModel& model, const text::SentencePieceTokenizer& tokenizer,
                                         const std::vector<std::string>& lines, const DecodeOptions& options,
                                         int64_t max_tokens, const torch::Device& device, bool bf16,
                                         const engine::EvalShard& shard) {
  torch::NoGradGuard no_grad;
  compat::AutocastGuard autocast(device, bf16);
  const SpecialIds ids = special_ids(tokenizer);
  // The source keeps room for EOS; the target for BOS and at least one token.
  const int64_t max_source = model.max_positions() - 1;
  std::vector<std::vector<int32_t>> sources(lines.size());
  std::vector<int64_t> todo, lengths;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r\n") == std::string::npos) continue;
    std::vector<int64_t> s = tokenizer.encode_plain(lines[i]);
    if (static_cast<int64_t>(s.size()) > max_source) s.resize(max_source);
    sources[i].assign(s.begin(), s.end());
    sources[i].push_back(static_cast<int32_t>(ids.eos));
    todo.push_back(static_cast<int64_t>(i));
    lengths.push_back(static_cast<int64_t>(sources[i].size()));
  }
  std::vector<std::string> out(lines.size());
  const int64_t budget = std::max<int64_t>(1, max_tokens / std::max<int64_t>(1, options.beam_size));
  const auto batches = data::make_token_batches(lengths, lengths, budget, /*shuffle=*/false, 0);
  for (size_t b = 0; b < batches.size(); ++b) {
    if (!shard.owns(static_cast<int64_t>(b))) continue;
    const auto& batch = batches[b];
    int64_t width = 1;
    for (int64_t j : batch) width = std::max<int64_t>(width, lengths[j]);
    torch::Tensor src = torch::full({static_cast<int64_t>(batch.size()), width}, ids.pad, torch::kLong);
    for (size_t r = 0; r < batch.size(); ++r) {
      const auto& s = sources[todo[batch[r]]];
      src[r].slice(0, 0, static_cast<int64_t>(s.size())).copy_(torch::tensor(std::vector<int64_t>(s.begin(), s.end())));
    }
    const auto generated = generate(model, src.to(device), options);
    for (size_t r = 0; r < batch.size(); ++r) out[todo[batch[r]]] = tokenizer.decode(generated[r]);
  }
  return shard.combine(std::move(out));
}

std::vector<std::string> translate_lines(models::Seq2SeqTransformer& model,
                                         const text::SentencePieceTokenizer& tokenizer,
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
