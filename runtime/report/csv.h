// Tables as CSV (RFC 4180), the form pandas.read_csv and Python's csv module read: a header
// row, then one line per row, CRLF line ends; a field holding a comma, a quote, CR or LF is
// quoted with its quotes doubled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace perturb::csv {

using Row = std::vector<std::string>;

// A cell as RFC 4180 writes it: as is, or quoted when it must be.
std::string field(const std::string& text);

// The header (left out when empty) and the rows, each line ending in CRLF.
std::string table(const Row& header, const std::vector<Row>& rows);

// A number's cell: its shortest round-trip text (0.1, 3, 1e-05); non-finite ones as nan, inf
// and -inf, which pandas and Python's float() read back.
std::string number(double v);
std::string number(int64_t v);

}  // namespace perturb::csv
