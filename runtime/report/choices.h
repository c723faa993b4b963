// Named choices (loss names, retrieval metrics...): checking a value against them and listing
// them in error messages.
#pragma once

#include <string>
#include <vector>

namespace perturb {

bool is_one_of(const std::string& value, const std::vector<std::string>& choices);

// Alternatives the way error messages list them: "a, b or c".
std::string format_alternatives(const std::vector<std::string>& alternatives);

// Allowed strings, quoted: "\"ce\", \"cw\" or \"dlr\"".
std::string format_choices(const std::vector<std::string>& choices);

}  // namespace perturb
