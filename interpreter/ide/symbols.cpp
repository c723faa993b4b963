#include "interpreter/ide/symbols.h"

#include <algorithm>

#include "interpreter/repl.h"

namespace perturb::lang::ide {
namespace {

// The binding the name at `offset` refers to or declares; -1 for none.
int binding_at(const Analysis& a, size_t offset) {
  if (const Occurrence* o = a.occurrence_at(offset)) {
    if (o->declaration >= 0) return o->declaration;
  }
  return a.declaration_at(offset);
}

Location module_location(const ModuleOutline& outline, size_t begin, size_t end) {
  return Location{outline.path, LineIndex(outline.text).range_of(begin, end)};
}

DocumentSymbol symbol_of(const Analysis& a, const LineIndex& lines, const Declaration& d) {
  DocumentSymbol s;
  s.name = d.name;
  s.detail = d.keyword();
  s.kind = d.function                      ? SymbolKind::kFunction
           : d.how == BindingSite::kImport ? SymbolKind::kModule
           : d.how == BindingSite::kDecl   ? SymbolKind::kObject
                                           : SymbolKind::kVariable;
  if (d.function) {
    s.detail = "fn(";
    for (size_t i = 0; i < d.function->params.size(); ++i)
      s.detail += (i ? ", " : "") + d.function->params[i].name;
    s.detail += ")";
  }
  if (d.how == BindingSite::kImport) s.detail = d.module;
  s.name_begin = d.begin;
  s.name_end = d.end;
  const size_t line = lines.position_of(d.begin).line;
  s.begin = std::min(lines.line_start(line), d.begin);
  s.end = std::max(lines.line_end(line), d.end);
  // A function's symbol spans its body, which holds its children.
  if (d.function && d.scope_end > s.end && d.how == BindingSite::kFn) s.end = d.scope_end;
  if (d.function) {
    const size_t body = block_end(a.text, d.end);
    s.end = std::max(s.end, body);
  }
  return s;
}

}  // namespace

std::optional<Location> definition(const Analysis& a, size_t offset) {
  const Occurrence* o = a.occurrence_at(offset);
  if (o && o->module_declaration >= 0) {
    const Declaration& import = a.declarations[o->module_declaration];
    auto outline = outline_module(import.module_path, a.path);
    if (!outline) return std::nullopt;
    for (const auto& m : outline->members) {
      if (m.name == o->member) return module_location(*outline, m.begin, m.end);
    }
    return module_location(*outline, 0, 0);
  }
  const int d = binding_at(a, offset);
  if (d < 0) return std::nullopt;
  const Declaration& decl = a.declarations[d];
  if (decl.known >= 0) return std::nullopt;  // bound outside this document
  // On an import's own name, or on a use of it, the module's file is where it is defined.
  if (decl.how == BindingSite::kImport && (a.declaration_at(offset) == d || o)) {
    if (auto outline = outline_module(decl.module_path, a.path))
      return module_location(*outline, 0, 0);
  }
  return Location{a.path, LineIndex(a.text).range_of(decl.begin, decl.end)};
}

std::vector<std::pair<size_t, size_t>> references(const Analysis& a, size_t offset,
                                                  bool include_declaration) {
  std::vector<std::pair<size_t, size_t>> out;
  const int d = binding_at(a, offset);
  if (d < 0) return out;
  const Declaration& decl = a.declarations[d];
  if (include_declaration && decl.begin < decl.end) out.emplace_back(decl.begin, decl.end);
  for (const auto& o : a.occurrences) {
    if (o.declaration == d) out.emplace_back(o.begin, o.end);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

RenameResult rename(const Analysis& a, size_t offset, const std::string& new_name) {
  RenameResult result;
  if (!a.complete) {
    result.error = "the document has syntax errors; fix them before renaming";
    return result;
  }
  const bool identifier =
      !new_name.empty() && is_identifier_start(new_name[0]) &&
      std::all_of(new_name.begin(), new_name.end(), [](char c) { return is_identifier_char(c); });
  if (!identifier) {
    result.error = "'" + new_name + "' is not a name (a letter or _, then letters, digits, _)";
    return result;
  }
  const auto& keywords = grammar_keywords();
  if (std::find(keywords.begin(), keywords.end(), new_name) != keywords.end()) {
    result.error = "'" + new_name + "' is a keyword";
    return result;
  }
  const int d = binding_at(a, offset);
  if (d < 0 || a.declarations[d].begin == a.declarations[d].end) {
    result.error =
        "only a name this document binds (let, fn, threat, attack, policy, schedule, "
        "a parameter, a loop variable, an import) can be renamed";
    return result;
  }
  result.ranges = references(a, offset, true);
  return result;
}

std::vector<DocumentSymbol> document_symbols(const Analysis& a) {
  const LineIndex lines(a.text);
  std::vector<DocumentSymbol> top;
  std::vector<const Declaration*> nested;
  for (const auto& d : a.declarations) {
    if (d.known >= 0 || d.begin == d.end) continue;
    if (d.top_level) {
      top.push_back(symbol_of(a, lines, d));
    } else {
      nested.push_back(&d);
    }
  }
  // Parameters and locals go under the innermost function symbol whose body holds them.
  for (const Declaration* d : nested) {
    DocumentSymbol* parent = nullptr;
    std::vector<DocumentSymbol>* level = &top;
    while (level) {
      DocumentSymbol* found = nullptr;
      for (auto& s : *level) {
        if (s.kind == SymbolKind::kFunction && s.begin <= d->begin && d->end <= s.end) found = &s;
      }
      if (!found) break;
      parent = found;
      level = &found->children;
    }
    if (parent) {
      parent->children.push_back(symbol_of(a, lines, *d));
    } else {
      top.push_back(symbol_of(a, lines, *d));
    }
  }
  std::sort(top.begin(), top.end(),
            [](const DocumentSymbol& l, const DocumentSymbol& r) { return l.begin < r.begin; });
  return top;
}

}  // namespace perturb::lang::ide
