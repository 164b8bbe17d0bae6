#include "tasks/translation/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <unordered_map>

namespace attune::translation {
namespace {

// Python's str.isspace(), which str.split() and str.rstrip() use: sacreBLEU splits on
// these, so a no-break space separates words there and must here too.
bool py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

// One code point starting at s[i]; its byte length goes to len. A malformed byte becomes
// a lone unit (as Python's surrogateescape would), so nothing is dropped.
char32_t decode_at(const std::string& s, size_t i, size_t& len) {
  const auto b = static_cast<unsigned char>(s[i]);
  int extra = b < 0x80 ? 0 : (b >> 5) == 0x6 ? 1 : (b >> 4) == 0xe ? 2 : (b >> 3) == 0x1e ? 3 : -1;
  if (extra < 0 || i + extra >= s.size()) {
    len = 1;
    return 0xdc00 + b;
  }
  char32_t c = extra == 0 ? b : extra == 1 ? (b & 0x1f) : extra == 2 ? (b & 0x0f) : (b & 0x07);
  for (int k = 1; k <= extra; ++k) {
    const auto cb = static_cast<unsigned char>(s[i + k]);
    if ((cb & 0xc0) != 0x80) {
      len = 1;
      return 0xdc00 + b;
    }
    c = (c << 6) | (cb & 0x3f);
  }
  len = extra + 1;
  return c;
}

std::u32string decode(const std::string& s) {
  std::u32string out;
  for (size_t i = 0, len = 0; i < s.size(); i += len) out.push_back(decode_at(s, i, len));
  return out;
}

// str.split() with no arguments.
std::vector<std::string> py_split(const std::string& s) {
  std::vector<std::string> words;
  std::string word;
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    if (py_space(decode_at(s, i, len))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word.append(s, i, len);
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::string py_rstrip(const std::string& s) {
  size_t end = 0;  // byte just past the last non-space code point
  for (size_t i = 0, len = 0; i < s.size(); i += len)
    if (!py_space(decode_at(s, i, len))) end = i + len;
  return s.substr(0, end);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  s = out.append(s, pos, std::string::npos);
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// tokenizer_re's first class, [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII symbols other than
// ' - . , which the later rules (or nobody) split.
bool symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

// One re.sub of a two-character pattern: matches do not overlap and scanning resumes
// after each match, which decides cases like "a.,b". Working on bytes is exact because
// every pattern's literal side is ASCII and its "[^0-9]" side is re-emitted unchanged
// (a UTF-8 continuation byte is a non-digit just as its code point is).
template <typename Match, typename Emit>
std::string sub2(const std::string& s, Match match, Emit emit) {
  std::string out;
  size_t i = 0;
  for (; i + 1 < s.size(); ++i) {
    if (match(s[i], s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      ++i;
    } else {
      out += s[i];
    }
  }
  if (i < s.size()) out += s[i];
  return out;
}

using Counts = std::unordered_map<std::string, int64_t>;

// All word n-grams of orders 1..4, keyed by the space-joined tokens (tokens never hold
// a space, and the number of spaces tells the orders apart).
std::array<Counts, kBleuMaxOrder> word_ngrams(const std::vector<std::string>& tokens) {
  std::array<Counts, kBleuMaxOrder> grams;
  for (int n = 1; n <= kBleuMaxOrder; ++n)
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      std::string key = tokens[i];
      for (int k = 1; k < n; ++k) key += ' ' + tokens[i + k];
      grams[n - 1][key]++;
    }
  return grams;
}

double my_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

void check_refs(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                const char* who) {
  if (refs.empty()) throw std::invalid_argument(std::string(who) + ": no reference stream");
  for (const auto& stream : refs)
    if (stream.size() != hyps.size())
      throw std::invalid_argument(std::string(who) + ": a reference stream's length differs from the hypotheses'");
}

constexpr int kChrOrder = 6;
constexpr double kChrBeta = 2.0;
using CharCounts = std::unordered_map<std::u32string, int64_t>;

// Character n-grams of orders 1..6 over code points, whitespace removed.
std::array<CharCounts, kChrOrder> char_ngrams(const std::string& line) {
  std::u32string chars;
  for (char32_t c : decode(line))
    if (!py_space(c)) chars.push_back(c);
  std::array<CharCounts, kChrOrder> grams;
  for (int n = 1; n <= kChrOrder; ++n)
    for (size_t i = 0; i + n <= chars.size(); ++i) grams[n - 1][chars.substr(i, n)]++;
  return grams;
}

// [hyp, ref, match] per order, as CHRF._get_match_statistics.
using ChrStats = std::array<int64_t, 3 * kChrOrder>;

// CHRF._compute_f_score without eps smoothing: average precision and recall over the
// orders that have both hypothesis and reference n-grams, then one F-beta of the averages.
double chrf_from_stats(const ChrStats& s) {
  const double factor = kChrBeta * kChrBeta;
  double avg_prec = 0.0, avg_rec = 0.0;
  int effective = 0;
  for (int i = 0; i < kChrOrder; ++i) {
    const int64_t hyp = s[3 * i], ref = s[3 * i + 1], match = s[3 * i + 2];
    if (hyp > 0 && ref > 0) {
      avg_prec += static_cast<double>(match) / hyp;
      avg_rec += static_cast<double>(match) / ref;
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0.0) return 0.0;
  double score = (1 + factor) * avg_prec * avg_rec;
  score /= factor * avg_prec + avg_rec;
  return 100 * score;
}

}  // namespace

std::string tokenize_13a(const std::string& input) {
  std::string line = input;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    // In this order, as mteval-v13a: "&amp;quot;" ends as "&quot;", not '"'.
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  line = " " + line + " ";
  std::string spaced;
  for (char c : line) {
    if (symbol(c)) {
      spaced += ' ';
      spaced += c;
      spaced += ' ';
    } else {
      spaced += c;
    }
  }
  const auto point = [](char c) { return c == '.' || c == ','; };
  // Period and comma split unless preceded by a digit ...
  spaced = sub2(
      spaced, [&](char a, char b) { return !digit(a) && point(b); },
      [](std::string& o, char a, char b) { o.append(1, a).append(" ").append(1, b).append(" "); });
  // ... or unless followed by one; "3.5" and "1,000" stay whole.
  spaced = sub2(
      spaced, [&](char a, char b) { return point(a) && !digit(b); },
      [](std::string& o, char a, char b) { o.append(" ").append(1, a).append(" ").append(1, b); });
  // A dash after a digit splits ("2-3" -> "2 - 3"); other hyphens stay inside words.
  spaced = sub2(
      spaced, [](char a, char b) { return digit(a) && b == '-'; },
      [](std::string& o, char a, char b) { o.append(1, a).append(" ").append(1, b).append(" "); });
  std::string out;
  for (const auto& w : py_split(spaced)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs) {
  check_refs(hyps, refs, "corpus_bleu");
  BleuScore r;
  for (size_t i = 0; i < hyps.size(); ++i) {
    // Several references: each n-gram may match up to its largest count in any one of them.
    std::array<Counts, kBleuMaxOrder> ref_grams;
    std::vector<int64_t> ref_lens;
    for (const auto& stream : refs) {
      const auto tokens = py_split(tokenize_13a(py_rstrip(stream[i])));
      ref_lens.push_back(static_cast<int64_t>(tokens.size()));
      auto grams = word_ngrams(tokens);
      for (int n = 0; n < kBleuMaxOrder; ++n)
        for (const auto& [g, c] : grams[n]) ref_grams[n][g] = std::max(ref_grams[n][g], c);
    }
    const auto hyp_tokens = py_split(tokenize_13a(py_rstrip(hyps[i])));
    const auto hyp_len = static_cast<int64_t>(hyp_tokens.size());
    // The reference length closest to the hypothesis's; on a tie, the shorter one.
    int64_t closest = -1, closest_diff = -1;
    for (int64_t len : ref_lens) {
      const int64_t diff = std::llabs(hyp_len - len);
      if (closest_diff == -1 || diff < closest_diff || (diff == closest_diff && len < closest)) {
        closest_diff = diff;
        closest = len;
      }
    }
    r.sys_len += hyp_len;
    r.ref_len += closest;
    const auto hyp_grams = word_ngrams(hyp_tokens);
    for (int n = 0; n < kBleuMaxOrder; ++n)
      for (const auto& [g, c] : hyp_grams[n]) {
        r.totals[n] += c;
        const auto it = ref_grams[n].find(g);
        if (it != ref_grams[n].end()) r.counts[n] += std::min(c, it->second);
      }
  }

  r.bp = 1.0;
  if (r.sys_len < r.ref_len)
    r.bp = r.sys_len > 0 ? std::exp(1.0 - static_cast<double>(r.ref_len) / r.sys_len) : 0.0;
  // No match at any order: sacreBLEU returns 0 with all precisions 0 (its issue #141).
  if (std::all_of(r.counts.begin(), r.counts.end(), [](int64_t c) { return c == 0; })) return r;

  // NIST's "exp" smoothing: the k-th order without a match gets precision 1/(2^k total).
  double smooth = 1.0;
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    // An order with no hypothesis n-gram at all stops here; its precision stays 0 and,
    // through my_log's floor, makes the score 0 (no effective order by default).
    if (r.totals[n] == 0) break;
    if (r.counts[n] == 0) {
      smooth *= 2;
      r.precisions[n] = 100.0 / (smooth * r.totals[n]);
    } else {
      r.precisions[n] = 100.0 * r.counts[n] / r.totals[n];
    }
  }
  double log_sum = 0.0;
  for (double p : r.precisions) log_sum += my_log(p);
  r.score = r.bp * std::exp(log_sum / kBleuMaxOrder);
  return r;
}

double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs) {
  check_refs(hyps, refs, "corpus_chrf");
  ChrStats total{};
  for (size_t i = 0; i < hyps.size(); ++i) {
    const auto hyp_grams = char_ngrams(hyps[i]);
    // Several references: the segment keeps the statistics of the reference with the best
    // segment-level chrF (the first one on a tie), and those are summed over the corpus.
    ChrStats best{};
    double best_f = -1.0;
    for (const auto& stream : refs) {
      const auto ref_grams = char_ngrams(stream[i]);
      ChrStats s{};
      for (int n = 0; n < kChrOrder; ++n) {
        int64_t hyp_count = 0, ref_count = 0, match = 0;
        for (const auto& [g, c] : hyp_grams[n]) {
          hyp_count += c;
          const auto it = ref_grams[n].find(g);
          if (it != ref_grams[n].end()) match += std::min(c, it->second);
        }
        for (const auto& [g, c] : ref_grams[n]) ref_count += c;
        // sacreBLEU does not count hypothesis n-grams of an order the reference lacks.
        s[3 * n] = ref_grams[n].empty() ? 0 : hyp_count;
        s[3 * n + 1] = ref_count;
        s[3 * n + 2] = match;
      }
      const double f = chrf_from_stats(s);
      if (f > best_f) {
        best_f = f;
        best = s;
      }
    }
    for (size_t k = 0; k < total.size(); ++k) total[k] += best[k];
  }
  return chrf_from_stats(total);
}

}  // namespace attune::translation
