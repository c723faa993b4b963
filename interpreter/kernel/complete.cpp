#include "interpreter/kernel/complete.h"

#include <algorithm>

#include "interpreter/builtins/table.h"
#include "interpreter/ide/analysis.h"
#include "interpreter/ide/completion.h"
#include "interpreter/ide/hover.h"
#include "interpreter/repl.h"

namespace perturb::lang {
namespace {

// A cell is analysed as a document of its own, with the names of earlier cells known.
constexpr const char* kCellPath = "";

std::vector<ide::KnownName> session_names(const EnvPtr& globals) {
  return globals ? ide::known_names_from(*globals) : std::vector<ide::KnownName>{};
}

}  // namespace

// The language server's completion (interpreter/ide/completion.h), so a notebook offers what an
// editor does: names in scope, members, a call's named parameters not given yet.
CompletionMatches complete_at(const std::string& code, size_t cursor, const EnvPtr& globals) {
  cursor = std::min(cursor, code.size());
  const ide::Completions found = ide::complete(kCellPath, code, cursor, session_names(globals));
  CompletionMatches result;
  result.start = found.replace_begin;
  result.end = found.replace_end;
  for (const auto& item : found.items) result.matches.push_back(item.label);
  return result;
}

// The language server's hover (interpreter/ide/hover.h); detail 1 (Shift-Tab twice, `name??`)
// adds a builtin's whole reference entry.
std::optional<std::string> inspect_at(const std::string& code, size_t cursor, int detail_level,
                                      const EnvPtr& globals) {
  cursor = std::min(cursor, code.size());
  const ide::Analysis analysis =
      ide::analyze_around(kCellPath, code, cursor, session_names(globals));
  const auto info = ide::hover(analysis, cursor);
  if (!info) return std::nullopt;
  std::string text = info->markdown;
  const ide::Occurrence* occurrence = analysis.occurrence_at(cursor);
  if (detail_level > 0 && occurrence && !occurrence->builtin.empty())
    text += "\n\n" + doc_text(occurrence->builtin);
  return text;
}

}  // namespace perturb::lang
