#include "interpreter/builtins/params.h"

#include "interpreter/diagnostics.h"

namespace perturb::lang {

Interval to_interval(const Value& value, const Span& at, const std::string& what) {
  if (value.is<double>()) return {value.as<double>(), value.as<double>()};
  if (value.is<bool>()) return {value.as<bool>() ? 1.0 : 0.0, value.as<bool>() ? 1.0 : 0.0};
  if (value.is<RangeValue>()) return {value.as<RangeValue>().lo, value.as<RangeValue>().hi};
  if (value.is<ListPtr>()) {
    const auto& items = *value.as<ListPtr>();
    if (items.size() == 2 && items[0].is<double>() && items[1].is<double>()) {
      return {items[0].as<double>(), items[1].as<double>()};
    }
  }
  throw_runtime_error(at, what + " must be a number, a range lo..hi or a list [lo, hi], got " +
                              kind_with_article(value.kind()));
}

Params to_params(const std::vector<std::pair<std::string, Value>>& named, const Span& at) {
  Params params;
  for (const auto& [name, value] : named) params[name] = to_interval(value, at, "'" + name + "'");
  return params;
}

}  // namespace perturb::lang
