#include "runtime/data/json_read.h"

#include "runtime/core/error.h"

namespace perturb {
namespace {

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 2,
// column 7: " prefix (our prefix says where, as every other file error does) and without its
// "; last read: '...'" suffix, which echoes the file's bytes, invalid UTF-8 included.
std::string reason(const std::string& what) {
  std::string out = what;
  const size_t at = out.find("parse error");
  const size_t colon = at == std::string::npos ? at : out.find(": ", at);
  if (colon != std::string::npos) out = out.substr(colon + 2);
  const size_t last_read = out.find("; last read: ");
  if (last_read == std::string::npos) return out;
  const size_t expected = out.rfind("; expected ");
  const bool keep = expected != std::string::npos && expected > last_read;
  out.erase(last_read, keep ? expected - last_read : std::string::npos);
  return out;
}

// The line and column (both from 1, columns in bytes) of byte `offset` of `text`.
std::pair<size_t, size_t> line_column(const std::string& text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

Json parse_json(const std::string& text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the bytes read, the offending one included: its index is one less. For a
    // token that is not what was expected, that is the token's last byte.
    const auto [line, column] = line_column(text, e.byte == 0 ? 0 : e.byte - 1);
    throw Error(source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                ": invalid JSON: " + reason(e.what()));
  }
}

}  // namespace perturb
