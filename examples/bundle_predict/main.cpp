// Classifies lines of text with a bundle written by `attune export`, using only LibTorch
// and attune's WordPiece tokenizer: what a C++ service needs to serve an exported model.
//
//   bundle_predict BUNDLE_DIR < texts.txt
//
// One text per line (for a text-pair model: the two texts separated by a tab). Prints one
// JSON line per input: {"label": ..., "probabilities": {label: p, ...}}, as `attune
// predict` does. (`attune predict --bundle` also verifies the manifest's SHA-256 sums;
// this example trusts the files.)
#include "data/text/wordpiece.h"

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

struct Input {
  std::string text, pair;
};

// input_ids, attention_mask, token_type_ids of one batch, padded to its longest text.
std::vector<torch::jit::IValue> collate(const std::vector<attune::text::Encoding>& batch, int64_t pad_id) {
  size_t length = 0;
  for (const auto& e : batch) length = std::max(length, e.ids.size());
  const auto n = static_cast<int64_t>(batch.size()), t = static_cast<int64_t>(length);
  torch::Tensor ids = torch::full({n, t}, pad_id, torch::kLong);
  torch::Tensor mask = torch::zeros({n, t}, torch::kLong);
  torch::Tensor types = torch::zeros({n, t}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < batch[i].ids.size(); ++j) {
      ids[i][j] = batch[i].ids[j];
      mask[i][j] = 1;
      types[i][j] = batch[i].type_ids[j];
    }
  }
  return {ids, mask, types};
}

void classify(torch::jit::Module& model, const attune::text::Tokenizer& tokenizer, const std::vector<Input>& inputs,
              const std::vector<std::string>& labels, int64_t max_length) {
  std::vector<attune::text::Encoding> batch;
  for (const auto& in : inputs) {
    batch.push_back(tokenizer.encode(in.text, in.pair.empty() ? nullptr : &in.pair, max_length));
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor probs = torch::softmax(model.forward(collate(batch, tokenizer.pad_id())).toTensor(), -1);
  for (int64_t i = 0; i < probs.size(0); ++i) {
    json p = json::object();
    for (size_t c = 0; c < labels.size(); ++c) p[labels[c]] = probs[i][c].item<double>();
    std::cout << json{{"label", labels[probs[i].argmax().item<int64_t>()]}, {"probabilities", p}}.dump() << "\n";
  }
  std::cout.flush();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: bundle_predict BUNDLE_DIR < texts.txt\n";
    return 2;
  }
  const std::string dir = argv[1];
  try {
    std::ifstream manifest_file(dir + "/manifest.json");
    if (!manifest_file) throw std::runtime_error(dir + "/manifest.json: cannot open file");
    const json manifest = json::parse(manifest_file);
    if (manifest.at("format") != "attune-bundle" || manifest.at("format_version").get<int>() > 1) {
      throw std::runtime_error(dir + "/manifest.json: not an attune bundle of format version 1");
    }
    if (manifest.at("task") != "text-classification") throw std::runtime_error("not a text-classification bundle");
    const json& tok = manifest.at("tokenizer");
    if (tok.at("kind") != "wordpiece") throw std::runtime_error("this example reads WordPiece bundles only");
    const auto tokenizer = attune::text::WordPieceTokenizer::load(dir + "/" + tok.at("dir").get<std::string>());
    const auto labels = manifest.at("labels").get<std::vector<std::string>>();
    const auto max_length = manifest.at("max_length").get<int64_t>();
    const bool pairs = manifest.contains("text") && !manifest["text"].value("text_pair_column", json()).is_null();

    torch::jit::Module model = torch::jit::load(dir + "/" + manifest.at("model").at("file").get<std::string>());
    model.eval();
    std::vector<Input> inputs;
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      Input in;
      const size_t tab = pairs ? line.find('\t') : std::string::npos;
      in.text = line.substr(0, tab);
      if (tab != std::string::npos) in.pair = line.substr(tab + 1);
      inputs.push_back(std::move(in));
      if (inputs.size() == 32) {
        classify(model, *tokenizer, inputs, labels, max_length);
        inputs.clear();
      }
    }
    if (!inputs.empty()) classify(model, *tokenizer, inputs, labels, max_length);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    std::cerr << "bundle_predict: error: " << what.substr(0, what.find('\n')) << "\n";
    return 1;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    std::cerr << "bundle_predict: error: " << what.substr(0, what.find('\n')) << "\n";
    return 1;
  }
  return 0;
}
