// Tiny JSON formatting helpers (no parser): enough to write reports.
#pragma once

#include <cstdint>
#include <string>

namespace perturb::json {

// A JSON string literal with quotes and escapes.
std::string quote(const std::string& s);
// The shortest text that reads back as the same double; non-finite numbers become null.
std::string number(double v);
std::string number(int64_t v);

}  // namespace perturb::json
