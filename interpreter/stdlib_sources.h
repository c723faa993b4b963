#pragma once
// The standard library (stdlib/*.ptb), embedded at build time.

#include <string>
#include <vector>

namespace perturb::lang {

// The text of stdlib/NAME.ptb, or null when there is no such module.
const char* stdlib_source(const std::string& name);
std::vector<std::string> stdlib_modules();

}  // namespace perturb::lang
