#include "runtime/report/json.h"

#include <cmath>

namespace perturb::json {

Json number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

std::string dump(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace perturb::json
