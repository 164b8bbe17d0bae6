#include "data/text/spm_folder_tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "data/text/hf_tokenizer.h"
#include "data/text/hf_tokenizer_json/precompiled_charsmap.h"
#include "data/text/spm_model_proto.h"

#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace attune::text {
namespace {

using nlohmann::json;

json read_json_or_empty(const fs::path& path) {
  if (!fs::exists(path)) return json::object();
  json j = io::read_json(path.string());
  return j.is_object() ? j : json::object();
}

// A special token's text, as tokenizer_config.json gives it (a string or an AddedToken dict).
std::string token_text(const json& config, const char* key, const std::string& fallback) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return fallback;
}

json metaspace(const char* type) {
  return {{"type", type}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", true}};
}

// "<s> $A </s>" and "<s> $A </s> </s> $B </s>", every type id 0.
json fairseq_template(const std::string& bos, int64_t bos_id, const std::string& eos, int64_t eos_id) {
  const auto special = [](const std::string& t) { return json{{"SpecialToken", {{"id", t}, {"type_id", 0}}}}; };
  const auto sequence = [](const char* s) { return json{{"Sequence", {{"id", s}, {"type_id", 0}}}}; };
  json special_tokens = json::object();
  special_tokens[bos] = {{"id", bos}, {"ids", json::array({bos_id})}, {"tokens", json::array({bos})}};
  special_tokens[eos] = {{"id", eos}, {"ids", json::array({eos_id})}, {"tokens", json::array({eos})}};
  return {{"type", "TemplateProcessing"},
          {"single", json::array({special(bos), sequence("A"), special(eos)})},
          {"pair", json::array({special(bos), sequence("A"), special(eos), special(eos), sequence("B"), special(eos)})},
          {"special_tokens", special_tokens}};
}

// "[CLS]:0 $A:0 [SEP]:0" and "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1".
json bert_template(const std::string& cls, int64_t cls_id, const std::string& sep, int64_t sep_id) {
  const auto special = [](const std::string& t, int type) { return json{{"SpecialToken", {{"id", t}, {"type_id", type}}}}; };
  const auto sequence = [](const char* s, int type) { return json{{"Sequence", {{"id", s}, {"type_id", type}}}}; };
  json special_tokens = json::object();
  special_tokens[cls] = {{"id", cls}, {"ids", json::array({cls_id})}, {"tokens", json::array({cls})}};
  special_tokens[sep] = {{"id", sep}, {"ids", json::array({sep_id})}, {"tokens", json::array({sep})}};
  return {{"type", "TemplateProcessing"},
          {"single", json::array({special(cls, 0), sequence("A", 0), special(sep, 0)})},
          {"pair", json::array({special(cls, 0), sequence("A", 0), special(sep, 0), sequence("B", 1), special(sep, 1)})},
          {"special_tokens", special_tokens}};
}

// The model file, which transformers reads as a Unigram model only.
SpmModelProto read_unigram_model(const fs::path& path) {
  SpmModelProto proto = read_spm_model_proto(path.string());
  if (proto.model_type != 1) fail(path.string(), "is not a unigram model (model_type " + std::to_string(proto.model_type) + ")");
  return proto;
}

json added_token(int64_t id, const std::string& content, bool special, bool lstrip) {
  return {{"id", id},        {"content", content}, {"single_word", false}, {"lstrip", lstrip},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

// The added tokens in id order.
json sorted_tokens(const std::map<int64_t, json>& added) {
  json out = json::array();
  for (const auto& [id, token] : added) out.push_back(token);
  return out;
}

}  // namespace

json deberta_spm_tokenizer_json(const std::string& dir) {
  const fs::path model_path = fs::path(dir) / "spm.model";
  const fs::path settings_path = fs::path(dir) / "tokenizer_config.json";
  const json settings = read_json_or_empty(settings_path);
  const std::string where = settings_path.string();
  const std::string cls = token_text(settings, "cls_token", "[CLS]"), sep = token_text(settings, "sep_token", "[SEP]");
  const std::string unk = token_text(settings, "unk_token", "[UNK]"), pad = token_text(settings, "pad_token", "[PAD]");
  const std::string mask = token_text(settings, "mask_token", "[MASK]");
  const std::string bos = token_text(settings, "bos_token", "[CLS]"), eos = token_text(settings, "eos_token", "[SEP]");
  const SpmModelProto proto = read_unigram_model(model_path);

  // The model's pieces as they are; the unknown is [UNK] where the model has it with score 0.
  json vocab = json::array();
  int64_t unk_id = proto.unk_id;
  for (size_t i = 0; i < proto.pieces.size(); ++i) {
    vocab.push_back(json::array({proto.pieces[i].piece, proto.pieces[i].score}));
  }
  for (size_t i = 0; i < proto.pieces.size(); ++i) {
    if (proto.pieces[i].piece == unk && proto.pieces[i].score == 0.0f) {
      unk_id = static_cast<int64_t>(i);
      break;
    }
  }
  // Named special tokens the model lacks ([MASK]) follow its pieces, in transformers' order.
  std::map<int64_t, json> added;
  std::map<std::string, int64_t> extra_ids;
  const auto id_of = [&](const std::string& token) -> int64_t {
    for (size_t i = 0; i < proto.pieces.size(); ++i) {
      if (proto.pieces[i].piece == token) return static_cast<int64_t>(i);
    }
    const auto it = extra_ids.find(token);
    if (it != extra_ids.end()) return it->second;
    const int64_t id = static_cast<int64_t>(proto.pieces.size() + extra_ids.size());
    extra_ids[token] = id;
    return id;
  };
  const auto add_token = [&](const std::string& content, bool special) {
    const int64_t id = id_of(content);
    if (added.count(id)) return;
    added[id] = added_token(id, content, special, false);
  };
  for (const auto& token : {bos, eos, unk, sep, pad, cls, mask}) add_token(token, true);
  for (const SpmPiece& p : proto.pieces) {
    if (p.type == 3 || p.type == 4) add_token(p.piece, p.type == 3);
  }

  json normalizers = json::array();
  if (hf_bool(settings, "do_lower_case", false, where)) normalizers.push_back({{"type", "Lowercase"}});
  normalizers.push_back({{"type", "Replace"}, {"pattern", {{"Regex", "\\s{2,}|[\\n\\r\\t]"}}}, {"content", " "}});
  normalizers.push_back({{"type", "NFC"}});
  normalizers.push_back({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}});
  const bool prefix_space = hf_bool(settings, "add_prefix_space", true, where);
  json space = metaspace("Metaspace");
  space["prepend_scheme"] = prefix_space ? "always" : "first";
  json pre_tokenizers = json::array();
  if (hf_bool(settings, "split_by_punct", false, where)) {
    pre_tokenizers.push_back({{"type", "Punctuation"}, {"behavior", "Isolated"}});
  }
  pre_tokenizers.push_back(space);
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", sorted_tokens(added)},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
          {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pre_tokenizers}}},
          {"post_processor", bert_template(cls, id_of(cls), sep, id_of(sep))},
          {"decoder", space},
          {"model", {{"type", "Unigram"}, {"unk_id", unk_id}, {"vocab", vocab}, {"byte_fallback", false}}}};
}

std::string spm_folder_tokenizer_class(const std::string& dir) {
  const json settings = read_json_or_empty(fs::path(dir) / "tokenizer_config.json");
  if (settings.contains("tokenizer_class") && settings["tokenizer_class"].is_string()) {
    std::string name = settings["tokenizer_class"].get<std::string>();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, "Fast") == 0) name.resize(name.size() - 4);
    return name;
  }
  const json config = read_json_or_empty(fs::path(dir) / "config.json");
  const std::string model_type = config.value("model_type", std::string());
  if (model_type == "xlm-roberta") return "XLMRobertaTokenizer";
  if (model_type == "camembert") return "CamembertTokenizer";
  return "";
}

json spm_folder_tokenizer_json(const std::string& dir, const std::string& tokenizer_class) {
  const fs::path model_path = fs::path(dir) / "sentencepiece.bpe.model";
  const bool camembert = tokenizer_class == "CamembertTokenizer";
  if (!camembert && tokenizer_class != "XLMRobertaTokenizer") {
    fail(dir, "sentencepiece.bpe.model is read as XLMRobertaTokenizer or CamembertTokenizer, not '" +
                  (tokenizer_class.empty() ? std::string("(no tokenizer_class or model_type)") : tokenizer_class) + "'");
  }
  const fs::path settings_path = fs::path(dir) / "tokenizer_config.json";
  const json settings = read_json_or_empty(settings_path);
  if (settings.contains("add_prefix_space") && settings["add_prefix_space"] == false) {
    fail(settings_path.string() + ": add_prefix_space", "false is not supported (transformers' default, true, is)");
  }
  const SpmModelProto proto = read_unigram_model(model_path);
  const std::string bos = token_text(settings, "bos_token", "<s>"), eos = token_text(settings, "eos_token", "</s>");
  const std::string unk = token_text(settings, "unk_token", "<unk>"), pad = token_text(settings, "pad_token", "<pad>");
  const std::string mask = token_text(settings, "mask_token", "<mask>");

  // fairseq's id layout (transformers' XLMRobertaConverter / CamembertConverter.convert_from_spm):
  // its own specials first, the model's pieces after them, the mask last.
  json vocab = json::array();
  const auto add = [&](const std::string& piece, double score) { vocab.push_back(json::array({piece, score})); };
  size_t first_piece = 3;
  if (camembert) {
    for (const auto& piece : {std::string("<s>NOTUSED"), pad, std::string("</s>NOTUSED"), unk}) add(piece, 0.0);
    add("<unk>NOTUSED", -100.0);
    first_piece = 1;
  } else {
    for (const auto& piece : {bos, pad, eos, unk}) add(piece, 0.0);
  }
  for (size_t i = first_piece; i < proto.pieces.size(); ++i) add(proto.pieces[i].piece, proto.pieces[i].score);
  add(mask, 0.0);
  const auto id_of = [&](const std::string& token) -> int64_t {
    for (size_t i = 0; i < vocab.size(); ++i) {
      if (vocab[i][0] == token) return static_cast<int64_t>(i);
    }
    fail(settings_path.string(), "special token '" + token + "' is not in the vocabulary");
  };

  // Added tokens: the named specials, CamemBERT's NOTUSED ones, and the model's control (special)
  // and user-defined (not special) pieces, at their ids; CamemBERT's mask strips left.
  std::map<int64_t, json> added;
  const auto add_token = [&](const std::string& content, bool special) {
    const int64_t id = id_of(content);
    if (added.count(id)) return;
    added[id] = added_token(id, content, special, camembert && content == mask);
  };
  for (const auto& token : {bos, eos, unk, pad, mask}) add_token(token, true);
  if (camembert) {
    for (const char* token : {"<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"}) add_token(token, true);
  }
  for (const SpmPiece& p : proto.pieces) {
    if (p.type == 3 || p.type == 4) add_token(p.piece, p.type == 3);
  }

  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", sorted_tokens(added)},
          {"normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", hf_json::base64_encode(proto.precompiled_charsmap)}}},
          {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", json::array({{{"type", "WhitespaceSplit"}}, metaspace("Metaspace")})}}},
          {"post_processor", fairseq_template(bos, id_of(bos), eos, id_of(eos))},
          {"decoder", metaspace("Metaspace")},
          {"model", {{"type", "Unigram"}, {"unk_id", id_of(unk)}, {"vocab", vocab}, {"byte_fallback", false}}}};
}

}  // namespace attune::text
