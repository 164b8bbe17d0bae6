// RFC 4648 base64 (the standard alphabet, '=' padding): images inlined in report pages,
// and PNGs sent in JSON to `attune serve`.
#pragma once
#include <string>

namespace attune::formats {

std::string encode_base64(const std::string& bytes);
// Strict: only the alphabet, length a multiple of 4, '=' only as the last one or two
// characters. Fails naming `where` and the first bad character's offset.
std::string decode_base64(const std::string& text, const std::string& where);

}  // namespace attune::formats
