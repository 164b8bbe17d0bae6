// Translation metrics that reproduce sacreBLEU 2.x's defaults, so that attune's
// numbers can be put next to published ones:
//   corpus_bleu  = sacrebleu.corpus_bleu(hyps, refs): 13a tokenisation, mixed case,
//                  exp smoothing, max order 4, no effective order;
//   corpus_chrf  = sacrebleu.corpus_chrf(hyps, refs): chrF2, char order 6, word order 0,
//                  whitespace removed, no eps smoothing.
// Standard library only: this header is included by light tools and tests.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace attune::translation {

constexpr int kBleuMaxOrder = 4;

struct BleuScore {
  double score = 0.0;                         // 0..100, unrounded (sacreBLEU rounds only when printing)
  std::array<double, kBleuMaxOrder> precisions{};  // 0..100, after smoothing
  double bp = 0.0;                            // brevity penalty
  int64_t sys_len = 0;                        // hypothesis tokens
  int64_t ref_len = 0;                        // closest reference tokens, summed
  std::array<int64_t, kBleuMaxOrder> counts{};  // clipped n-gram matches
  std::array<int64_t, kBleuMaxOrder> totals{};  // hypothesis n-grams
};

// References come as sacreBLEU takes them: refs[k] is the k-th reference stream, one line
// per hypothesis (single reference: {refs}). Every stream must be as long as hyps.
BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs);
double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs);

// sacreBLEU's Tokenizer13a on one UTF-8 line (corpus_bleu also strips trailing whitespace first).
std::string tokenize_13a(const std::string& line);

}  // namespace attune::translation
