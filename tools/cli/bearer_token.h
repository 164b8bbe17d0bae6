// The optional bearer token of `attune serve` (--auth-token-file): read once at start,
// checked on every request but /health.
#pragma once
#include <string>

namespace attune::cli {

// The file's content without surrounding whitespace; an unreadable or empty file, or a
// token of more than one line, is a one-line user error naming the flag and the file.
std::string read_bearer_token(const std::string& path);

// Whether an Authorization header value is "Bearer <token>" (the scheme in any case).
// The comparison takes the same time wherever the header differs from the token, so
// timing does not reveal how much of a guess was right.
bool bearer_matches(const std::string& authorization, const std::string& token);

}  // namespace attune::cli
