#pragma once
// Turning script values into the runtime's parameter maps (`t.with(eps: 0.2)`).

#include <string>
#include <utility>
#include <vector>

#include "interpreter/source.h"
#include "interpreter/value.h"
#include "runtime/threat/threat.h"

namespace perturb::lang {

// A number is the point [v, v]; a range lo..hi and a list [lo, hi] are intervals.
Interval to_interval(const Value& value, const Span& at, const std::string& what);
Params to_params(const std::vector<std::pair<std::string, Value>>& named, const Span& at);

}  // namespace perturb::lang
