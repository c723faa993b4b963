#include "interpreter/kernel/complete.h"

#include <algorithm>
#include <cctype>

#include "interpreter/builtins/table.h"
#include "interpreter/repl.h"

namespace perturb::lang {
namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

// Where the dotted name that ends at `cursor` begins (`zoo.cif` in `m = zoo.cif|`).
size_t name_start(const std::string& code, size_t cursor) {
  size_t start = cursor;
  while (start > 0 && name_char(code[start - 1])) --start;
  return start;
}

bool documented(const std::string& name) {
  if (builtins().find(name)) return true;
  const auto& keywords = grammar_keywords();
  return std::find(keywords.begin(), keywords.end(), name) != keywords.end();
}

}  // namespace

CompletionMatches complete_at(const std::string& code, size_t cursor, const EnvPtr& globals) {
  cursor = std::min(cursor, code.size());
  CompletionMatches result;
  result.start = name_start(code, cursor);
  result.end = cursor;
  const std::string word = code.substr(result.start, cursor - result.start);
  // The REPL completes one line; a cell is many, and the whole text before the cursor tells
  // which call is still open.
  result.matches = completions(code, cursor, word, globals);
  return result;
}

std::optional<std::string> inspect_at(const std::string& code, size_t cursor, int detail_level) {
  cursor = std::min(cursor, code.size());
  size_t end = cursor;
  while (end < code.size() && name_char(code[end])) ++end;
  std::string name = code.substr(name_start(code, cursor), end - name_start(code, cursor));
  while (!name.empty() && name.back() == '.') name.pop_back();
  // `linf.sample` is documented under its method's entry; `zoo.cifar_resnet` under its own.
  if (!documented(name) && name.find('.') != std::string::npos)
    name = name.substr(name.rfind('.') + 1);
  if (name.empty() || !documented(name)) return std::nullopt;
  const bool keyword = !builtins().find(name);
  return detail_level > 0 || keyword ? doc_text(name) : help_text(name);
}

}  // namespace perturb::lang
