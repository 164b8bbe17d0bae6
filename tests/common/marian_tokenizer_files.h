// MarianTokenizer folders made by attune itself: SentencePiece models trained on the
// digit-word pairs of synthetic.h as source.spm and target.spm, vocab.json laid out as
// OPUS-MT's (</s> 0, <unk> 1, the pieces of both models, <pad> last). For tests that must
// run without the transformers-made fixtures (tests/fixtures/marian,
// tools/parity/make_marian_fixtures.py); marian_folder.h adds a model.
#pragma once
#include "core/files.h"
#include "data/text/sentencepiece.h"
#include "tests/catch.h"
#include "tests/common/synthetic.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace attune::testing {

inline std::vector<std::string> tsv_column(const std::string& path, int column) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    out.push_back(column == 0 ? line.substr(0, tab) : line.substr(tab + 1));
  }
  return out;
}

// The transformers-made folders of tests/fixtures/marian, or none (with a warning saying
// how to make them) where they are absent.
inline std::vector<std::string> marian_fixture_dirs() {
  const std::filesystem::path root = std::filesystem::path(ATTUNE_SOURCE_DIR) / "tests/fixtures/marian";
  std::vector<std::string> dirs;
  if (!std::filesystem::is_directory(root)) {
    WARN("no " + root.string() + " (python3 tools/parity/make_marian_fixtures.py on a machine with transformers and "
         "sentencepiece, then copy its OUT_DIR there): skipped");
    return dirs;
  }
  for (const auto& entry : std::filesystem::directory_iterator(root)) dirs.push_back(entry.path().string());
  std::sort(dirs.begin(), dirs.end());
  REQUIRE(dirs.size() >= 2);
  return dirs;
}

// Writes the tokenizer files into a fresh temp_dir(name) and returns it; <pad>'s id is
// the vocabulary's size - 1.
inline std::string write_marian_tokenizer(const std::string& name) {
  namespace fs = std::filesystem;
  const std::string dir = temp_dir(name);
  write_number_pairs(dir + "/pairs.tsv", 200, 11);
  const auto source = text::SentencePieceTokenizer::train(tsv_column(dir + "/pairs.tsv", 0), 40, "unigram", dir + "/src");
  const auto target = text::SentencePieceTokenizer::train(tsv_column(dir + "/pairs.tsv", 1), 40, "unigram", dir + "/tgt");
  fs::copy_file(dir + "/src/sentencepiece.model", dir + "/source.spm");
  fs::copy_file(dir + "/tgt/sentencepiece.model", dir + "/target.spm");
  nlohmann::json vocab = {{"</s>", 0}, {"<unk>", 1}};
  for (const auto* t : {source.get(), target.get()}) {
    for (int64_t id = 0; id < t->vocab_size(); ++id) {
      const std::string piece = t->id_to_token(id);
      if (piece.front() == '[' || piece == "<pad>" || piece == "<unk>" || vocab.contains(piece)) continue;
      vocab[piece] = vocab.size();
    }
  }
  vocab["<pad>"] = vocab.size();
  std::ofstream(dir + "/vocab.json") << vocab.dump();
  std::ofstream(dir + "/tokenizer_config.json")
      << nlohmann::json{{"tokenizer_class", "MarianTokenizer"}, {"separate_vocabs", false}, {"source_lang", "en"},
                        {"target_lang", "de"}}
             .dump();
  io::remove_tree(dir + "/src");
  io::remove_tree(dir + "/tgt");
  return dir;
}

}  // namespace attune::testing
