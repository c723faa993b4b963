// Number and shape formatting shared by describe() strings and error messages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace perturb {

// Up to 6 significant digits, no trailing zeros: 0.1 → "0.1", 1 → "1", 2.5e-05 → "2.5e-05".
std::string format_number(double v);

// A tensor shape the way users see it printed: "[4, 3, 28, 28]".
std::string format_shape(const std::vector<int64_t>& sizes);

}  // namespace perturb
