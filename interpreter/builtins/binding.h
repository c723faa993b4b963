#pragma once
// Argument binding and messages shared by the checker (on kinds) and the evaluator (on values),
// so both say the same thing about the same call.

#include <string>
#include <vector>

#include "interpreter/builtins/table.h"

namespace perturb::lang {

struct Binding {
  // For each argument (positionals, then named in order): the parameter index, or -1 when it
  // goes to the variadic rest / open named arguments.
  std::vector<int> slot;
  std::string error;   // empty when the call binds
  int error_arg = -1;  // which argument the error is about; -1 for the call itself
};

// `has_receiver`: the first positional is the method's receiver, not written by the user.
Binding bind_arguments(const Builtin& builtin, size_t positional_count,
                       const std::vector<std::string>& named, bool has_receiver);

// "PGD expects a threat as its first argument, got a policy 'light'" for a positional argument,
// "PGD expects a number for 'steps', got a string" for a named one.
std::string kind_mismatch_message(const Builtin& builtin, size_t param_index, Kind got,
                                  const std::string& variable, bool has_receiver, bool by_name);

// "PGD", or "project" for the method "threat.project".
std::string display_name(const Builtin& builtin);

const char* ordinal(size_t index);  // 0 → "first"

}  // namespace perturb::lang
