#include "runtime/report/csv.h"

#include <cmath>

#include "runtime/report/json.h"

namespace perturb::csv {

std::string field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string table(const Row& header, const std::vector<Row>& rows) {
  std::string out;
  auto line = [&out](const Row& row) {
    // A lone empty cell is quoted: an empty line would read as no row at all.
    if (row.size() == 1 && row[0].empty()) {
      out += "\"\"\r\n";
      return;
    }
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + field(row[i]);
    out += "\r\n";
  };
  if (!header.empty()) line(header);
  for (const auto& row : rows) line(row);
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // A whole number reads as an integer column (3, not 3.0) when it is one exactly.
  if (v == std::trunc(v) && std::abs(v) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(v));
  }
  return json::dump(v);  // the shortest text that reads back as the same double
}

std::string number(int64_t v) {
  return std::to_string(v);
}

}  // namespace perturb::csv
