// JSON files read with nlohmann-json (RFC 8259, strict UTF-8 inside strings), with our errors:
// nlohmann reports a byte offset, we report "file:line:col: invalid JSON: what was expected".
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace perturb {

// Members keep the file's order, so a record read back lists its keys as written.
using Json = nlohmann::ordered_json;

// Parses `text`; `source` names it in errors ("captions.json:2:7: invalid JSON: ... expected
// ':'"). Invalid UTF-8 in a string is an error at the bad byte.
Json parse_json(const std::string& text, const std::string& source);

}  // namespace perturb
