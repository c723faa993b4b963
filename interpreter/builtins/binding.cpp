#include "interpreter/builtins/binding.h"

#include <algorithm>

#include "interpreter/diagnostics.h"

namespace perturb::lang {

std::string display_name(const Builtin& builtin) {
  auto dot = builtin.name.find('.');
  bool method =
      dot != std::string::npos && std::find(builtin_modules().begin(), builtin_modules().end(),
                                            builtin.name.substr(0, dot)) == builtin_modules().end();
  return method ? builtin.name.substr(dot + 1) : builtin.name;
}

const char* ordinal(size_t index) {
  static const char* kOrdinals[] = {"first", "second",  "third",  "fourth", "fifth",
                                    "sixth", "seventh", "eighth", "ninth",  "tenth"};
  return index < 10 ? kOrdinals[index] : "next";
}

Binding bind_arguments(const Builtin& builtin, size_t positional_count,
                       const std::vector<std::string>& named, bool has_receiver) {
  const auto& sig = builtin.signature;
  const std::string who = display_name(builtin);
  size_t offset = has_receiver ? 1 : 0;
  Binding binding;
  binding.slot.assign(positional_count + named.size(), -1);
  std::vector<bool> bound(sig.params.size(), false);
  for (size_t i = 0; i < positional_count; ++i) {
    if (i < sig.params.size()) {
      binding.slot[i] = static_cast<int>(i);
      bound[i] = true;
    } else if (!sig.variadic) {
      size_t most = sig.params.size() - offset;
      binding.error = who + " takes at most " + std::to_string(most) + " positional argument" +
                      (most == 1 ? "" : "s") + ", got " + std::to_string(positional_count - offset);
      binding.error_arg = static_cast<int>(i);
      return binding;
    }
  }
  std::vector<std::string> names;
  for (size_t p = offset; p < sig.params.size(); ++p) names.push_back(sig.params[p].name);
  for (size_t j = 0; j < named.size(); ++j) {
    size_t arg = positional_count + j;
    auto it = std::find(names.begin(), names.end(), named[j]);
    if (it == names.end()) {
      if (sig.open_named) continue;
      std::string hint = closest_match(named[j], names);
      binding.error = who + " has no parameter '" + named[j] + "'" +
                      (hint.empty() ? "" : "; did you mean '" + hint + "'?");
      binding.error_arg = static_cast<int>(arg);
      return binding;
    }
    size_t p = offset + static_cast<size_t>(it - names.begin());
    if (bound[p]) {
      binding.error = who + " got '" + named[j] + "' twice";
      binding.error_arg = static_cast<int>(arg);
      return binding;
    }
    bound[p] = true;
    binding.slot[arg] = static_cast<int>(p);
  }
  for (size_t p = offset; p < sig.params.size(); ++p) {
    if (!bound[p] && !sig.params[p].optional) {
      binding.error = who + " is missing its argument '" + sig.params[p].name + "'";
      return binding;
    }
  }
  return binding;
}

std::string kind_mismatch_message(const Builtin& builtin, size_t param_index, Kind got,
                                  const std::string& variable, bool has_receiver, bool by_name) {
  const ParamSpec& p = builtin.signature.params[param_index];
  std::string got_text = kind_with_article(got) + (variable.empty() ? "" : " '" + variable + "'");
  size_t position = param_index - (has_receiver ? 1 : 0);
  if (!by_name && !(has_receiver && param_index == 0)) {
    return display_name(builtin) + " expects " + kinds_text(p.kinds) + " as its " +
           ordinal(position) + " argument, got " + got_text;
  }
  return display_name(builtin) + " expects " + kinds_text(p.kinds) + " for '" + p.name + "', got " +
         got_text;
}

}  // namespace perturb::lang
