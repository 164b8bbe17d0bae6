// Small pieces of HTML writing for the run report: escaping every text that comes from
// a run (config values, labels, translations), numbers as people read them, base64 for
// inlined images.
#pragma once
#include <string>

namespace attune::report {

// Text safe inside an element or a quoted attribute: & < > " ' become entities.
std::string escape(const std::string& text);
// A number with up to `digits` significant digits, without trailing zeros ("0.9798", "1.2e-05").
std::string number(double value, int digits = 6);
// RFC 4648 base64, for data: URIs.
std::string base64(const std::string& bytes);

}  // namespace attune::report
