// The tokenizer files the transformers-made checkpoints in tests/fixtures/hf_arch ship
// without (make_hf_arch_fixtures.py saves models only), written beside a copy of one.
#pragma once
#include "core/files.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace attune::testing {

// dir holds a copied checkpoint (its config.json). RoBERTa-family checkpoints
// (pad_token_id 1) get a fast tokenizer's tokenizer.json with RoBERTa's <s> ... </s>
// layout, the others a vocab.txt with BERT's specials; the words are "w5".."w<vocab-1>".
// Returns the file's text.
inline std::string write_fixture_tokenizer(const std::string& dir) {
  const nlohmann::json config = io::read_json(dir + "/config.json");
  const int64_t vocab = config.at("vocab_size").get<int64_t>();
  if (config.value("pad_token_id", 0) == 1) {
    nlohmann::json ids = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}, {"<mask>", 4}};
    for (int64_t i = 5; i < vocab; ++i) ids["w" + std::to_string(i)] = i;
    const nlohmann::json tokenizer = {
        {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", nlohmann::json::array()},
        {"normalizer", nullptr}, {"pre_tokenizer", {{"type", "Whitespace"}}},
        {"post_processor", {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}},
                            {"trim_offsets", true}, {"add_prefix_space", false}}},
        {"decoder", nullptr},
        {"model", {{"type", "WordPiece"}, {"unk_token", "<unk>"}, {"continuing_subword_prefix", "##"},
                   {"max_input_chars_per_word", 100}, {"vocab", ids}}}};
    io::write_file_atomic(dir + "/tokenizer.json", tokenizer.dump());
    return tokenizer.dump();
  }
  std::string lines = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (int64_t i = 5; i < vocab; ++i) lines += "w" + std::to_string(i) + "\n";
  io::write_file_atomic(dir + "/vocab.txt", lines);
  return lines;
}

}  // namespace attune::testing
