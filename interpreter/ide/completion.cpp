#include "interpreter/ide/completion.h"

#include <algorithm>
#include <set>

#include "interpreter/builtins/table.h"
#include "interpreter/ide/hover.h"
#include "interpreter/ide/signature.h"
#include "interpreter/kinds.h"
#include "interpreter/repl.h"

namespace perturb::lang::ide {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// True inside a comment or a string literal, where nothing is completed.
bool in_comment_or_string(const std::string& text, size_t offset) {
  size_t line = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  size_t i = line == std::string::npos ? 0 : line + 1;
  if (offset == 0) i = 0;
  bool in_string = false;
  for (; i < offset; ++i) {
    if (in_string) {
      if (text[i] == '\\') {
        ++i;
      } else if (text[i] == '"') {
        in_string = false;
      }
    } else if (text[i] == '"') {
      in_string = true;
    } else if (text[i] == '#') {
      return true;
    }
  }
  return in_string;
}

CompletionItem builtin_item(const std::string& label, const std::string& entry,
                            CompletionKind kind) {
  CompletionItem item{label, label, kind, "", ""};
  if (const Builtin* b = builtins().find(entry)) {
    item.detail = signature_text(*b);
    item.documentation = b->doc;
  }
  return item;
}

CompletionItem declaration_item(const Analysis& a, const Declaration& d) {
  CompletionKind kind = d.function || d.kinds == bits(Kind::kFunction) ? CompletionKind::kFunction
                        : d.how == BindingSite::kImport                ? CompletionKind::kModule
                                                                       : CompletionKind::kVariable;
  std::string detail = d.known >= 0 && !a.known[d.known].description.empty()
                           ? a.known[d.known].description
                       : d.kinds == kAnyKind ? d.keyword()
                                             : d.keyword() + " (" + kinds_text(d.kinds) + ")";
  return CompletionItem{d.name, d.name, kind, detail, describe_declaration(a, d)};
}

// The members after `head.`: a builtin module's, an imported module's, or the fields and methods
// of a value of known kind.
std::vector<CompletionItem> members_of(const Analysis& a, const std::string& head, size_t offset) {
  std::vector<CompletionItem> items;
  const Declaration* d = a.lookup(head, offset);
  const auto& modules = builtin_modules();
  if (!d && std::find(modules.begin(), modules.end(), head) != modules.end()) {
    for (const auto& m : builtins().members(head))
      items.push_back(builtin_item(m, head + "." + m, CompletionKind::kFunction));
    return items;
  }
  if (!d) return items;
  if (d->how == BindingSite::kImport) {
    if (auto outline = outline_module(d->module_path, a.path)) {
      for (const auto& m : outline->members) {
        items.push_back({m.name, m.name,
                         m.function ? CompletionKind::kFunction : CompletionKind::kVariable,
                         m.keyword() + " in " + outline->name, ""});
      }
    }
    return items;
  }
  if (d->known >= 0) {
    for (const auto& f : a.known[d->known].fields)
      items.push_back({f, f, CompletionKind::kField, "field", ""});
  }
  if (is_single_kind(d->kinds)) {
    const Kind kind = static_cast<Kind>(d->kinds);
    const KindDescriptor& type = descriptor_of(kind);
    for (const auto& f : type.fields) {
      items.push_back({f.name, f.name, CompletionKind::kField,
                       f.kinds == kAnyKind ? "field" : kinds_text(f.kinds), f.doc});
    }
    for (const auto& m : builtins().members(kind_name(kind)))
      items.push_back(
          builtin_item(m, std::string(kind_name(kind)) + "." + m, CompletionKind::kMethod));
  }
  return items;
}

// The callee's named parameters that the call has not given yet.
std::vector<CompletionItem> named_arguments(const Analysis& a, const CallContext& call,
                                            size_t offset) {
  std::vector<CompletionItem> items;
  auto signature = signature_of(a, call.callee, offset);
  if (!signature) return items;
  // The receiver and the positional arguments written so far fill the first parameters.
  const size_t filled = static_cast<size_t>(call.positional) + (signature->has_receiver ? 1 : 0);
  for (size_t i = filled; i < signature->parameters.size(); ++i) {
    const auto& p = signature->parameters[i];
    if (std::find(call.named.begin(), call.named.end(), p.name) != call.named.end()) continue;
    items.push_back(
        {p.name + ":", p.name + ": ", CompletionKind::kArgument, signature->label, p.doc});
  }
  return items;
}

std::vector<CompletionItem> names_in_scope(const Analysis& a, size_t offset) {
  std::vector<CompletionItem> items;
  std::set<std::string> seen;
  for (const Declaration* d : a.visible_at(offset)) {
    if (seen.insert(d->name).second) items.push_back(declaration_item(a, *d));
  }
  for (const auto& k : a.known) {
    if (seen.insert(k.name).second) {
      items.push_back({k.name, k.name, CompletionKind::kVariable, k.description, ""});
    }
  }
  for (const auto& m : builtin_modules()) {
    if (seen.insert(m).second) items.push_back({m, m, CompletionKind::kModule, "module", ""});
  }
  for (const auto& n : builtins().global_names()) {
    if (seen.insert(n).second) items.push_back(builtin_item(n, n, CompletionKind::kFunction));
  }
  for (const auto& k : grammar_keywords()) {
    if (seen.insert(k).second) items.push_back({k, k, CompletionKind::kKeyword, "keyword", ""});
  }
  return items;
}

}  // namespace

Completions complete(const std::string& path, const std::string& text, size_t offset,
                     const std::vector<KnownName>& known) {
  Completions out;
  offset = std::min(offset, text.size());
  size_t begin = offset;
  while (begin > 0 && is_identifier_char(text[begin - 1])) --begin;
  out.replace_begin = begin;
  out.replace_end = offset;
  if (in_comment_or_string(text, offset)) return out;
  const std::string prefix = text.substr(begin, offset - begin);
  const Analysis a = analyze_around(path, text, offset, known);
  std::vector<CompletionItem> candidates;
  if (begin > 0 && text[begin - 1] == '.') {
    size_t head_begin = begin - 1;
    while (head_begin > 0 && is_identifier_char(text[head_begin - 1])) --head_begin;
    candidates = members_of(a, text.substr(head_begin, begin - 1 - head_begin), offset);
  } else {
    if (auto call = open_call_at(text, offset); call && call->current_name.empty()) {
      candidates = named_arguments(a, *call, offset);
    }
    for (auto& item : names_in_scope(a, offset)) candidates.push_back(std::move(item));
  }
  std::set<std::string> labels;
  for (auto& item : candidates) {
    if (starts_with(item.label, prefix) && labels.insert(item.label).second)
      out.items.push_back(std::move(item));
  }
  std::stable_sort(out.items.begin(), out.items.end(),
                   [](const CompletionItem& l, const CompletionItem& r) {
                     const bool la = l.kind == CompletionKind::kArgument;
                     const bool ra = r.kind == CompletionKind::kArgument;
                     return la != ra ? la : l.label < r.label;
                   });
  return out;
}

}  // namespace perturb::lang::ide
