// Tokenizer::encode on its own, apart from load_tokenizer (which pulls in SentencePiece):
// a program that needs only WordPiece (examples/bundle_predict) compiles just this,
// wordpiece.cpp, basic_tokenizer.cpp and data/io/files.cpp.
#include "data/text/tokenizer.h"

#include <algorithm>

namespace attune::text {

Encoding Tokenizer::encode(const std::string& text, const std::string* pair, int64_t max_length) const {
  std::vector<int64_t> a = encode_plain(text);
  std::vector<int64_t> b;
  if (pair) b = encode_plain(*pair);
  const int64_t specials = pair ? 3 : 2;
  const int64_t budget = std::max<int64_t>(0, max_length - specials);
  while (static_cast<int64_t>(a.size() + b.size()) > budget) {
    if (a.size() > b.size()) {
      a.pop_back();
    } else {
      b.pop_back();
    }
  }
  Encoding e;
  e.ids.reserve(a.size() + b.size() + specials);
  e.ids.push_back(cls_id());
  e.ids.insert(e.ids.end(), a.begin(), a.end());
  e.ids.push_back(sep_id());
  e.type_ids.assign(e.ids.size(), 0);
  if (pair) {
    e.ids.insert(e.ids.end(), b.begin(), b.end());
    e.ids.push_back(sep_id());
    e.type_ids.resize(e.ids.size(), 1);
  }
  return e;
}

}  // namespace attune::text
