#include "core/error.h"
#include "tasks/engine/run_dir.h"
#include "data/text/hf_folder_tokenizer.h"
#include "data/text/sentencepiece.h"
#include "data/text/tokenizer.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;

namespace attune::cli {

int tokenize_command(const Args& args) {
  cxxopts::Options options("attune tokenize",
                           "Print the token ids of each input line (one JSON list per line), with a tokenizer "
                           "saved by attune (a run's tokenizer/ folder), a SentencePiece .model file, or "
                           "hf:DIR (a Hugging Face folder: vocab.txt, tokenizer.json or spm.model). Without --special, no [CLS]/[SEP].");
  options.add_options()
      ("t,tokenizer", "Tokenizer folder, run directory, .model file or hf:DIR", cxxopts::value<std::string>())
      ("i,input", "Input file; default: stdin", cxxopts::value<std::string>()->default_value("-"))
      ("special", "Add [CLS]/[SEP] as for training", cxxopts::value<bool>()->default_value("false"))
      ("max-length", "Truncate to this many ids (with --special)", cxxopts::value<int64_t>()->default_value("512"));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("tokenizer")) fail("attune tokenize", "--tokenizer DIR is required");
  std::string dir = parsed["tokenizer"].as<std::string>();
  // A run directory stands for its tokenizer.
  const std::string run_tokenizer = engine::RunDir(dir).tokenizer();
  if (fs::exists(fs::path(run_tokenizer) / "tokenizer.json")) dir = run_tokenizer;
  std::unique_ptr<text::Tokenizer> tokenizer;
  if (dir.rfind("hf:", 0) == 0) {
    tokenizer = text::load_hf_folder_tokenizer(dir.substr(3)).tokenizer;
  } else if (fs::is_regular_file(dir) && fs::path(dir).extension() == ".model") {
    tokenizer = text::SentencePieceTokenizer::load(dir);
  } else {
    tokenizer = text::load_tokenizer(dir);
  }
  const std::string input = parsed["input"].as<std::string>();
  std::ifstream file;
  std::istream& in = open_input(input, file);
  const bool special = parsed["special"].as<bool>();
  const int64_t max_length = parsed["max-length"].as<int64_t>();
  for (std::string line; std::getline(in, line);) {
    const auto ids = special ? tokenizer->encode(line, nullptr, max_length).ids : tokenizer->encode_plain(line);
    std::cout << nlohmann::json(ids).dump() << '\n';
  }
  return 0;
}

}  // namespace attune::cli
