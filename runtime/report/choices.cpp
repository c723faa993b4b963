#include "runtime/report/choices.h"

#include <algorithm>

namespace perturb {

bool is_one_of(const std::string& value, const std::vector<std::string>& choices) {
  return std::find(choices.begin(), choices.end(), value) != choices.end();
}

std::string format_alternatives(const std::vector<std::string>& alternatives) {
  std::string out;
  for (size_t i = 0; i < alternatives.size(); ++i) {
    if (i > 0) out += i + 1 == alternatives.size() ? " or " : ", ";
    out += alternatives[i];
  }
  return out;
}

std::string format_choices(const std::vector<std::string>& choices) {
  std::vector<std::string> quoted;
  for (const auto& choice : choices) quoted.push_back("\"" + choice + "\"");
  return format_alternatives(quoted);
}

}  // namespace perturb
