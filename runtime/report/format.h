// Number formatting shared by describe() strings.
#pragma once

#include <string>

namespace perturb {

// Up to 6 significant digits, no trailing zeros: 0.1 → "0.1", 1 → "1", 2.5e-05 → "2.5e-05".
std::string format_number(double v);

}  // namespace perturb
