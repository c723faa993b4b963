#include "runtime/report/format.h"

#include <cstdio>

namespace perturb {

std::string format_number(double v) {
  // %g already drops trailing zeros and keeps 6 significant digits.
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

}  // namespace perturb

namespace perturb {

std::string format_shape(const std::vector<int64_t>& sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(sizes[i]);
  }
  return out + "]";
}

}  // namespace perturb
