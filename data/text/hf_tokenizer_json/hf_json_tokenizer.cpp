#include "data/text/hf_tokenizer_json/hf_json_tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "data/text/hf_tokenizer_json/added_tokens.h"
#include "data/text/hf_tokenizer_json/decoders.h"
#include "data/text/hf_tokenizer_json/model.h"
#include "data/text/hf_tokenizer_json/normalizers.h"
#include "data/text/hf_tokenizer_json/post_processors.h"
#include "data/text/hf_tokenizer_json/pre_tokenizers.h"

#include <filesystem>

namespace attune::text {

using namespace hf_json;

bool is_hf_tokenizer_json(const nlohmann::json& j) {
  return j.is_object() && j.contains("model") && j["model"].is_object() && j["model"].contains("type");
}

HfJsonTokenizer::~HfJsonTokenizer() = default;

std::unique_ptr<HfJsonTokenizer> HfJsonTokenizer::load(const std::string& path) {
  return from_json_text(io::read_file(path), path);
}

std::unique_ptr<HfJsonTokenizer> HfJsonTokenizer::from_json_text(const std::string& text, const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(file, "not valid JSON: " + first_line(e.what()));
  }
  const JsonAt root{j, file, ""};
  if (!is_hf_tokenizer_json(j)) fail(file, "not a Hugging Face tokenizer.json (no \"model\": {\"type\": ...})");
  std::unique_ptr<HfJsonTokenizer> t(new HfJsonTokenizer());
  t->file_ = file;
  t->json_text_ = text;
  try {
    if (root.has("normalizer")) t->normalizer_ = make_normalizer(root.at("normalizer"));
    if (root.has("pre_tokenizer")) t->pre_tokenizer_ = make_pre_tokenizer(root.at("pre_tokenizer"));
    t->model_ = make_model(root.at("model"));
    if (root.has("post_processor")) t->post_processor_ = make_post_processor(root.at("post_processor"));
    if (root.has("decoder")) t->decoder_ = make_decoder(root.at("decoder"));
    if (root.has("added_tokens")) {
      t->added_ = std::make_unique<AddedVocabulary>(root.at("added_tokens"), t->normalizer_.get());
    } else {
      t->added_ = std::make_unique<AddedVocabulary>();
    }
    if (root.has("padding")) {
      const JsonAt padding = root.at("padding");
      if (padding.has("pad_id")) t->pad_ = padding.at("pad_id").integer();
    }
  } catch (const nlohmann::json::exception& e) {
    // JsonAt checks types before reading; this only guards a path it missed.
    fail(file, "unexpected JSON shape: " + first_line(e.what()));
  }
  return t;
}

TokenEncoding HfJsonTokenizer::encode_sequence(const std::string& text, int64_t type_id) const {
  TokenEncoding out;
  const auto add_token = [&](int64_t id, Span offsets) {
    out.push(id, type_id, id_to_token(id), offsets, false);
  };
  // 1. Added tokens matched on the raw text; 2. the rest normalized, then tokens matched
  // on the normalized text; 3. pre-tokenized; 4. the model, piece by piece.
  for (const TextSplit& raw : added_->split(text, false)) {
    if (raw.id) {
      add_token(*raw.id, {raw.begin, raw.end});
      continue;
    }
    if (raw.begin == raw.end) continue;
    NormalizedText normalized(text.substr(raw.begin, raw.end - raw.begin), raw.begin);
    if (normalizer_) normalizer_->normalize(normalized);
    const std::string normalized_utf8 = normalized.utf8();
    const std::vector<size_t> starts = normalized.byte_starts();
    const auto char_index = [&](size_t byte) {
      return static_cast<size_t>(std::lower_bound(starts.begin(), starts.end(), byte) - starts.begin());
    };
    for (const TextSplit& part : added_->split(normalized_utf8, true)) {
      if (part.id) {
        add_token(*part.id, normalized.original_span(starts, part.begin, part.end));
        continue;
      }
      if (part.begin == part.end) continue;
      std::vector<NormalizedText> pieces = {normalized.slice(char_index(part.begin), char_index(part.end))};
      if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
      for (const NormalizedText& piece : pieces) {
        const std::vector<size_t> piece_starts = piece.byte_starts();
        for (const ModelToken& m : model_->tokenize(piece.utf8())) add_token(m.id, piece.original_span(piece_starts, m.start, m.end));
      }
    }
  }
  return out;
}

OffsetEncoding HfJsonTokenizer::encode_with_offsets(const std::string& text, const std::string* pair,
                                                    bool add_special_tokens, int64_t max_length) const {
  std::vector<TokenEncoding> encodings = {encode_sequence(text, 0)};
  if (pair) encodings.push_back(encode_sequence(*pair, 1));
  if (max_length > 0) {
    // longest_first, as tokenizers: one token at a time from the longer (ties: the second).
    const size_t added = add_special_tokens && post_processor_ ? post_processor_->added_tokens(pair != nullptr) : 0;
    const size_t budget = static_cast<size_t>(max_length) > added ? static_cast<size_t>(max_length) - added : 0;
    size_t a = encodings[0].size(), b = pair ? encodings[1].size() : 0;
    while (a + b > budget) {
      if (a > b) {
        --a;
      } else {
        --b;
      }
    }
    encodings[0].truncate(a);
    if (pair) encodings[1].truncate(b);
  }
  if (post_processor_) post_processor_->process(encodings, add_special_tokens);
  for (size_t i = 1; i < encodings.size(); ++i) encodings[0].append(encodings[i]);
  const TokenEncoding& e = encodings[0];
  OffsetEncoding out;
  out.ids = e.ids;
  out.type_ids = e.type_ids;
  out.tokens = e.tokens;
  out.special_tokens_mask = e.special;
  for (const Span& s : e.offsets) out.offsets.emplace_back(s.start, s.end);
  return out;
}

std::string HfJsonTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  for (int64_t id : ids) {
    const AddedToken* added = added_->by_id(id);
    std::optional<std::string> token = added ? std::optional<std::string>(added->content) : model_->id_to_token(id);
    if (!token) continue;  // as tokenizers: an id with no token decodes to nothing
    if (skip_special_tokens && added_->is_special(*token)) continue;
    tokens.push_back(*token);
  }
  std::string out;
  if (!decoder_) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const auto& piece : decoder_->decode_chain(std::move(tokens))) out += piece;
  return out;
}

std::vector<std::string> HfJsonTokenizer::tokenize(const std::string& text) const {
  return encode_with_offsets(text, nullptr, false).tokens;
}

std::vector<int64_t> HfJsonTokenizer::encode_plain(const std::string& text) const {
  return encode_with_offsets(text, nullptr, false).ids;
}

Encoding HfJsonTokenizer::encode(const std::string& text, const std::string* pair, int64_t max_length) const {
  const OffsetEncoding e = encode_with_offsets(text, pair, true, max_length);
  return {e.ids, e.type_ids};
}

int64_t HfJsonTokenizer::vocab_size() const { return std::max(model_->vocab_size(), added_->max_id() + 1); }

std::string HfJsonTokenizer::id_to_token(int64_t id) const {
  if (const AddedToken* a = added_->by_id(id)) return a->content;
  if (const auto t = model_->id_to_token(id)) return *t;
  return "";
}

std::optional<int64_t> HfJsonTokenizer::find_token(std::initializer_list<const char*> names) const {
  for (const char* name : names) {
    if (const auto id = added_->id_of(name)) return id;
    if (const auto id = model_->token_to_id(name)) return id;
  }
  return std::nullopt;
}

int64_t HfJsonTokenizer::required(const std::optional<int64_t>& id, const char* what) const {
  if (!id) fail(file_, std::string("the tokenizer has no ") + what + " token");
  return *id;
}

int64_t HfJsonTokenizer::pad_id() const { return required(pad_ ? pad_ : find_token({"[PAD]", "<pad>"}), "padding ([PAD] or <pad>)"); }
int64_t HfJsonTokenizer::unk_id() const {
  return required(model_->unk_id() ? model_->unk_id() : find_token({"[UNK]", "<unk>"}), "unknown ([UNK] or <unk>)");
}
int64_t HfJsonTokenizer::cls_id() const {
  const auto from_processor = post_processor_ ? post_processor_->cls_id() : std::nullopt;
  return required(from_processor ? from_processor : find_token({"[CLS]", "<s>"}), "classification ([CLS] or <s>)");
}
int64_t HfJsonTokenizer::sep_id() const {
  const auto from_processor = post_processor_ ? post_processor_->sep_id() : std::nullopt;
  return required(from_processor ? from_processor : find_token({"[SEP]", "</s>"}), "separator ([SEP] or </s>)");
}
int64_t HfJsonTokenizer::mask_id() const { return required(find_token({"[MASK]", "<mask>"}), "mask ([MASK] or <mask>)"); }

void HfJsonTokenizer::save(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  io::write_file_atomic((std::filesystem::path(dir) / "tokenizer.json").string(), json_text_);
}

}  // namespace attune::text
