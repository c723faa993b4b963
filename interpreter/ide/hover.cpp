#include "interpreter/ide/hover.h"

#include "interpreter/ide/signature.h"

#include <algorithm>

#include "interpreter/builtins/table.h"
#include "interpreter/kinds.h"
#include "interpreter/reference.h"
#include "interpreter/repl.h"

namespace perturb::lang::ide {
namespace {

std::string code_block(const std::string& code) {
  return "```perturb\n" + code + "\n```\n";
}

std::string line_of(const Analysis& a, size_t offset) {
  return std::to_string(LineIndex(a.text).position_of(offset).line + 1);
}

std::string module_markdown(const std::string& module) {
  std::string members;
  for (const auto& m : builtins().members(module)) members += (members.empty() ? "" : ", ") + m;
  return code_block("module " + module) + "\nA builtin module. Members: " + members + "\n";
}

std::string member_markdown(const Analysis& a, const Declaration& import, const std::string& name) {
  auto outline = outline_module(import.module_path, a.path);
  if (!outline) return "";
  for (const auto& m : outline->members) {
    if (m.name != name) continue;
    const std::string line = std::to_string(LineIndex(outline->text).position_of(m.begin).line + 1);
    return code_block(m.keyword() + " " + outline->name + "." + name) + "\n" +
           (m.kinds == kAnyKind ? std::string("a value") : kinds_text(m.kinds)) + ", declared in " +
           outline->name + " at line " + line + "\n";
  }
  return "";
}

std::string keyword_markdown(const std::string& word) {
  const KeywordDoc* doc = keyword_doc(word);
  if (!doc) return code_block(word) + "\nA keyword.\n";
  return code_block(word) + "\n" + doc->what + "\n\nExample: `" + doc->example + "`\n";
}

bool is_keyword(const std::string& word) {
  const auto& keywords = grammar_keywords();
  return std::find(keywords.begin(), keywords.end(), word) != keywords.end();
}

std::string occurrence_markdown(const Analysis& a, const Occurrence& o) {
  if (o.declaration >= 0) {
    return describe_declaration(a, a.declarations[o.declaration]);
  }
  if (!o.builtin.empty()) return builtin_markdown(*builtins().find(o.builtin));
  if (o.module_declaration >= 0)
    return member_markdown(a, a.declarations[o.module_declaration], o.member);
  if (!o.field.empty()) {
    const KindDescriptor& type = descriptor_of(static_cast<Kind>(o.receiver_kind));
    const FieldSpec* spec = type.field(o.field);
    return code_block(type.name + "." + o.field) + "\n" +
           (spec && spec->kinds != kAnyKind ? kinds_text(spec->kinds) : std::string("a field")) +
           " of " + type.with_article + (spec && !spec->doc.empty() ? ": " + spec->doc : "") + "\n";
  }
  const std::string word = a.text.substr(o.begin, o.end - o.begin);
  const auto& modules = builtin_modules();
  if (std::find(modules.begin(), modules.end(), word) != modules.end())
    return module_markdown(word);
  return "";
}

// `steps` in `PGD(linf, steps: 20)`: the parameter of the call it is written in.
std::optional<std::string> named_argument_markdown(const Analysis& a, const std::string& word,
                                                   size_t at) {
  auto call = open_call_at(a.text, at);
  if (!call) return std::nullopt;
  auto signature = signature_of(a, call->callee, at);
  if (!signature) return std::nullopt;
  for (const auto& p : signature->parameters) {
    if (p.name != word) continue;
    const std::string callee = signature->label.substr(0, signature->label.find('('));
    return code_block(signature->label) + "\nParameter `" + word + "` of " + callee +
           (p.doc.empty() ? "" : ": " + p.doc) + "\n";
  }
  return std::nullopt;
}

}  // namespace

std::string describe_declaration(const Analysis& a, const Declaration& d) {
  if (d.known >= 0) {
    const KnownName& k = a.known[d.known];
    return code_block(k.name) + "\n" +
           (k.description.empty() ? kinds_text(k.kinds) : k.description) +
           ", defined earlier in this session\n";
  }
  std::string what = d.kinds == kAnyKind ? "a value of any kind" : kinds_text(d.kinds);
  std::string code = d.keyword() + " " + d.name;
  if (d.how == BindingSite::kImport) {
    code = "import " + d.module +
           (d.module_path.empty() || d.module_path.back() == d.name ? "" : " as " + d.name);
    what = "module " + d.module;
  } else if (d.function) {
    code = "fn " + d.name + "(";
    for (size_t i = 0; i < d.function->params.size(); ++i)
      code += (i ? ", " : "") + d.function->params[i].name;
    code += ")";
  } else if (d.how == BindingSite::kParam || d.how == BindingSite::kFor) {
    code = d.name;
    what = (d.how == BindingSite::kParam ? "a parameter, " : "a loop variable, ") + what;
  }
  return code_block(code) + "\n" + what + ", declared at line " + line_of(a, d.begin) + "\n";
}

std::optional<HoverInfo> hover(const Analysis& analysis, size_t offset) {
  if (const Occurrence* o = analysis.occurrence_at(offset)) {
    std::string md = occurrence_markdown(analysis, *o);
    if (!md.empty()) return HoverInfo{md, o->begin, o->end};
  }
  const int d = analysis.declaration_at(offset);
  if (d >= 0) {
    const Declaration& decl = analysis.declarations[d];
    return HoverInfo{describe_declaration(analysis, decl), decl.begin, decl.end};
  }
  // A word the AST does not hold: a keyword, a builtin in text that does not parse, a named
  // argument (`steps:` inside a call).
  const auto [begin, end] = identifier_at(analysis.text, offset);
  if (begin == end) return std::nullopt;
  const std::string word = analysis.text.substr(begin, end - begin);
  if (is_keyword(word)) return HoverInfo{keyword_markdown(word), begin, end};
  size_t after = end;
  while (after < analysis.text.size() && analysis.text[after] == ' ') ++after;
  if (after < analysis.text.size() && analysis.text[after] == ':') {
    if (auto md = named_argument_markdown(analysis, word, begin)) return HoverInfo{*md, begin, end};
  }
  if (const Builtin* b = builtins().find(word)) return HoverInfo{builtin_markdown(*b), begin, end};
  return std::nullopt;
}

}  // namespace perturb::lang::ide
