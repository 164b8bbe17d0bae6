#include "data/text/hf_tokenizer_json/model.h"

namespace attune::text::hf_json {

void Model::add_vocab(const std::string& token, int64_t id) {
  ids_[token] = id;
  if (tokens_.size() <= static_cast<size_t>(id)) tokens_.resize(static_cast<size_t>(id) + 1);
  tokens_[static_cast<size_t>(id)] = token;
}

std::optional<int64_t> Model::token_to_id(const std::string& token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Model::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size()) return std::nullopt;
  return tokens_[static_cast<size_t>(id)];
}

void read_vocab_object(const JsonAt& vocab, const std::function<void(const std::string&, int64_t)>& add) {
  if (!vocab.value.is_object()) fail(vocab.where(), "expected an object of token: id");
  for (const auto& [token, id] : vocab.value.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
      fail(vocab.where(token), "expected an id from 0 to " + std::to_string(kMaxTokenId) + ", got " + id.dump().substr(0, 40));
    }
    add(token, id.get<int64_t>());
  }
}

std::unique_ptr<Model> make_model(const JsonAt& j) {
  const std::string type = j.type();
  if (type == "WordPiece") return make_wordpiece_model(j);
  if (type == "BPE") return make_bpe_model(j);
  if (type == "Unigram") return make_unigram_model(j);
  j.unsupported_type();
}

}  // namespace attune::text::hf_json
