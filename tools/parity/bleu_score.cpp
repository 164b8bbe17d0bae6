// attune_bleu_score HYP_FILE REF_FILE [REF_FILE ...]: the sacreBLEU parity script's window
// into attune (tools/parity/sacrebleu_parity.py). Reads one segment per line ('\n' only,
// as the script writes them; a final newline ends the last line rather than adding an
// empty one) and prints corpus BLEU and chrF as one JSON object, unrounded.
#include "tasks/translation/metrics.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<std::string> read_lines(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read ") + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " HYP_FILE REF_FILE [REF_FILE ...]\n";
    return 2;
  }
  try {
    const auto hyps = read_lines(argv[1]);
    std::vector<std::vector<std::string>> refs;
    for (int i = 2; i < argc; ++i) refs.push_back(read_lines(argv[i]));
    const auto bleu = attune::translation::corpus_bleu(hyps, refs);
    const double chrf = attune::translation::corpus_chrf(hyps, refs);
    std::string precisions, counts, totals;
    for (int n = 0; n < attune::translation::kBleuMaxOrder; ++n) {
      const char* sep = n ? ", " : "";
      precisions += sep + num(bleu.precisions[n]);
      counts += sep + std::to_string(bleu.counts[n]);
      totals += sep + std::to_string(bleu.totals[n]);
    }
    std::cout << "{\"bleu\": " << num(bleu.score) << ", \"chrf\": " << num(chrf) << ", \"precisions\": ["
              << precisions << "], \"bp\": " << num(bleu.bp) << ", \"sys_len\": " << bleu.sys_len
              << ", \"ref_len\": " << bleu.ref_len << ", \"counts\": [" << counts << "], \"totals\": [" << totals
              << "]}\n";
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
