#include "tasks/pretraining/fill_mask.h"

#include "core/error.h"

#include <algorithm>

namespace attune::pretraining {

MaskedText encode_masked(const std::string& text, const text::Tokenizer& tokenizer, int64_t max_length,
                         const std::string& where) {
  std::vector<std::string> markers = {kMaskToken};
  // A tokenizer without a mask token of its own maps it to [UNK], which must stay text.
  const std::string own = tokenizer.id_to_token(tokenizer.mask_id());
  if (!own.empty() && own != markers[0] && tokenizer.mask_id() != tokenizer.unk_id()) markers.push_back(own);
  // The first marker at or after pos, and its length.
  const auto next_marker = [&](size_t pos) {
    std::pair<size_t, size_t> found{std::string::npos, 0};
    for (const auto& m : markers) {
      const size_t at = text.find(m, pos);
      if (at < found.first) found = {at, m.size()};
    }
    return found;
  };
  MaskedText out;
  out.ids.push_back(tokenizer.cls_id());
  size_t pos = 0;
  while (true) {
    const auto [next, length] = next_marker(pos);
    for (int64_t id : tokenizer.encode_plain(text.substr(pos, next == std::string::npos ? std::string::npos : next - pos))) {
      out.ids.push_back(id);
    }
    if (next == std::string::npos) break;
    out.masks.push_back(static_cast<int64_t>(out.ids.size()));
    out.ids.push_back(tokenizer.mask_id());
    pos = next + length;
  }
  out.ids.push_back(tokenizer.sep_id());
  if (static_cast<int64_t>(out.ids.size()) > max_length) {
    fail(where, std::to_string(out.ids.size()) + " tokens exceed mlm.max_length " + std::to_string(max_length));
  }
  return out;
}

nlohmann::json mask_candidates(const torch::Tensor& logits, const text::Tokenizer& tokenizer, bool with_ids) {
  const int64_t vocab = std::min(tokenizer.vocab_size(), logits.size(-1));
  // Softmax over every row first, so scores are those of transformers' fill-mask pipeline.
  const auto top = torch::softmax(logits.to(torch::kFloat), -1)
                       .narrow(-1, 0, vocab)
                       .topk(std::min<int64_t>(kFillMaskCandidates, vocab), -1);
  const torch::Tensor p = std::get<0>(top).cpu(), idx = std::get<1>(top).cpu();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t m = 0; m < p.size(0); ++m) {
    nlohmann::json candidates = nlohmann::json::array();
    for (int64_t k = 0; k < p.size(1); ++k) {
      const int64_t id = idx[m][k].item<int64_t>();
      nlohmann::json c = {{"token", tokenizer.id_to_token(id)}, {"score", p[m][k].item<double>()}};
      if (with_ids) c["id"] = id;
      candidates.push_back(std::move(c));
    }
    out.push_back(std::move(candidates));
  }
  return out;
}

void fill_mask_lines(std::istream& in, const std::string& input_name, std::ostream& out,
                     const text::Tokenizer& tokenizer, int64_t max_length, const MaskLogits& logits) {
  torch::NoGradGuard no_grad;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const MaskedText masked = encode_masked(line, tokenizer, max_length, at_line(input_name, line_no));
    nlohmann::json predictions = nlohmann::json::array();
    if (!masked.masks.empty()) {
      predictions = mask_candidates(logits(torch::tensor(masked.ids).unsqueeze(0), torch::tensor(masked.masks)), tokenizer);
    }
    out << nlohmann::json{{"text", line}, {"masks", predictions}}.dump() << "\n";
  }
  out.flush();
}

}  // namespace attune::pretraining
