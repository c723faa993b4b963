#include "interpreter/reference.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <vector>

#include "interpreter/repl.h"
#include "runtime/report/json.h"

namespace perturb::lang {
namespace {

// Groups in the order a reader meets them; groups not listed here follow, sorted.
const std::vector<std::string>& group_order() {
  static const std::vector<std::string> order = {
      "core",     "tensors",   "data",     "models",     "threats",       "attacks",
      "policies", "schedules", "training", "evaluation", "certification", "reports"};
  return order;
}

std::string kinds_list(Kinds kinds) {
  if (kinds == kAnyKind) return "any";
  std::string text;
  for (Kind k : kinds_in(kinds)) text += (text.empty() ? "" : "|") + std::string(kind_name(k));
  return text;
}

// The default of a parameter as it is written in a script, or "" when it is required.
std::string default_of(const ParamSpec& p) {
  if (p.default_value) return format_value(*p.default_value, true);
  if (!p.default_text.empty()) return p.default_text;
  if (p.optional) return "none";
  return "";
}

// A parameter's value rules and its doc line, "" when it has neither:
// "a whole number, at least 1; iterations".
std::string notes_of(const ParamSpec& p) {
  std::string rules = rules_text(p);
  if (rules.empty() || p.summary.empty()) return rules + p.summary;
  return rules + "; " + p.summary;
}

bool is_receiver(const Builtin& b, size_t index) {
  return index == 0 && b.signature.params[0].name == "self";
}

// Builtins grouped for the reference, each group's names sorted.
std::vector<std::pair<std::string, std::vector<const Builtin*>>> grouped() {
  std::map<std::string, std::vector<const Builtin*>> groups;
  for (const auto& [name, entry] : builtins().all()) groups[entry.group].push_back(&entry);
  std::vector<std::pair<std::string, std::vector<const Builtin*>>> out;
  for (const auto& g : group_order()) {
    auto it = groups.find(g);
    if (it == groups.end()) continue;
    out.emplace_back(g, it->second);
    groups.erase(it);
  }
  for (auto& [g, list] : groups) out.emplace_back(g, list);
  return out;
}

std::string anchor(const std::string& name) {
  std::string a;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
      a += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return a;
}

std::string escape_table_cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// What each keyword of the language does, for `:doc KEYWORD` (a student's first questions).
// A keyword missing here still gets a line saying it is a keyword.
const std::map<std::string, KeywordDoc>& keyword_docs() {
  static const std::map<std::string, KeywordDoc> docs = {
      {"let",
       {"binds a new name to a value; `name = value` rebinds an existing one", "let eps = 8/255"}},
      {"fn",
       {"defines a function (named parameters with defaults allowed); the last "
        "expression is its result",
        "fn clip(x, lo: 0, hi: 1) { clamp(x, lo, hi) }"}},
      {"return", {"leaves a function with a value", "fn f(x) { if x > 0 { return x }; 0 }"}},
      {"if",
       {"runs a block when the condition is true; `else` otherwise",
        "if acc > 0.5 { print(\"ok\") } else { print(\"low\") }"}},
      {"else",
       {"the branch of an `if` taken when its condition is false",
        "if e > 0.1 { print(\"big\") } else { print(\"small\") }"}},
      {"for",
       {"runs a block for each element of a list, range or tensor",
        "for e in [0.05, 0.1] { print(e) }"}},
      {"in",
       {"separates a `for` loop's variable from what it loops over",
        "for i in range(3) { print(i) }"}},
      {"while", {"runs a block while the condition is true", "while n > 0 { n = n - 1 }"}},
      {"break", {"leaves the innermost loop", "for e in xs { if e > 1 { break } }"}},
      {"continue",
       {"goes on with the next iteration of the innermost loop",
        "for e in xs { if e < 0 { continue }; print(e) }"}},
      {"import",
       {"loads a module of the standard library (stdlib/NAME.ptb)", "import std.presets"}},
      {"as", {"names an imported module", "import std.presets as p"}},
      {"threat",
       {"declares a threat model (the set of inputs the adversary may use) and checks "
        "that the value is one",
        "threat linf = Linf(eps: 0.1)"}},
      {"attack",
       {"declares an attack and checks that the value is one",
        "attack pgd = PGD(linf, steps: 20)"}},
      {"policy",
       {"declares an augmentation policy and checks that the value is one",
        "policy light = Flip(p: 0.5) >> Rotate(degrees: -15..15)"}},
      {"schedule",
       {"declares a training task schedule (curriculum or meta-learning) and checks "
        "that the value is one",
        "schedule ramp = Curriculum([{epochs: 2, task: Clean()}])"}},
      {"and",
       {"true when both sides are (the right side is evaluated only if needed)",
        "if a > 0 and b > 0 { print(a + b) }"}},
      {"or", {"true when either side is", "if a < 0 or b < 0 { print(\"negative\") }"}},
      {"not", {"negates a truth value", "if not done { print(\"again\") }"}},
      {"true", {"the truth value true", "let random_start = true"}},
      {"false", {"the truth value false", "let verbose = false"}},
      {"none",
       {"no value (an optional argument left out, a function without a result)",
        "PGD(linf, target: none)"}},
  };
  return docs;
}

}  // namespace

const KeywordDoc* keyword_doc(const std::string& keyword) {
  auto it = keyword_docs().find(keyword);
  return it == keyword_docs().end() ? nullptr : &it->second;
}

std::string reference_markdown() {
  std::ostringstream out;
  out << "# Perturb builtin reference\n\n"
      << "<!-- Generated by `perturb reference` from the builtins table "
         "(interpreter/builtins/*.cpp); do not edit by hand. Regenerate with "
         "`cmake --build build --target regenerate`. -->\n\n"
      << "Every builtin of this build: its signature (parameters in positional order, "
         "`name: kind = default`), what it does, and an example. Methods are listed as "
         "`kind.method` and called on a value of that kind (`linf.project(x_adv, x)`); module "
         "members as `module.member` (`zoo.small_cnn()`). Entries marked *planned* are "
         "checked by `perturb check` but stop with a clear message when run in this build.\n\n";
  auto groups = grouped();
  out << "## Contents\n\n";
  for (const auto& [group, list] : groups) {
    out << "- **" << group << "**:";
    bool first = true;
    for (const Builtin* b : list) {
      out << (first ? " " : ", ") << "[`" << b->name << "`](#" << anchor(b->name) << ")";
      first = false;
    }
    out << "\n";
  }
  out << "- **keywords** of the language: [what each does](#keywords)\n";
  out << "\n";
  for (const auto& [group, list] : groups) {
    out << "## " << group << "\n\n";
    for (const Builtin* b : list) {
      out << "### " << b->name << "\n\n";
      out << "```\n" << signature_text(*b) << "\n```\n\n";
      out << b->doc << "\n\n";
      if (!b->planned.empty())
        out << "*Planned* — not available in this build yet (" << b->planned << ").\n\n";
      const auto& params = b->signature.params;
      bool any = false;
      for (size_t i = 0; i < params.size(); ++i) any = any || !is_receiver(*b, i);
      if (any) {
        out << "| parameter | kind | default | rules |\n| --- | --- | --- | --- |\n";
        for (size_t i = 0; i < params.size(); ++i) {
          if (is_receiver(*b, i)) continue;
          std::string d = default_of(params[i]);
          out << "| `" << params[i].name << "` | " << escape_table_cell(kinds_list(params[i].kinds))
              << " | " << (d.empty() ? "required" : "`" + escape_table_cell(d) + "`") << " | "
              << escape_table_cell(notes_of(params[i])) << " |\n";
        }
        if (b->signature.variadic) out << "| … | any | more positional arguments | |\n";
        if (b->signature.open_named) out << "| `name: value` … | any | any named argument | |\n";
        out << "\n";
      }
      if (!b->example.empty()) out << "Example:\n\n```perturb\n" << b->example << "\n```\n\n";
    }
  }
  out << "## keywords\n\n"
      << "The keywords of grammar/Perturb.g4; none can be used as a name.\n\n"
      << "| keyword | what it does | example |\n| --- | --- | --- |\n";
  for (const auto& word : grammar_keywords()) {
    const KeywordDoc* doc = keyword_doc(word);
    out << "| `" << word << "` | " << (doc ? escape_table_cell(doc->what) : "") << " | "
        << (doc ? "`" + escape_table_cell(doc->example) + "`" : "") << " |\n";
  }
  return out.str();
}

std::string reference_entry_text(const Builtin& b) {
  std::ostringstream out;
  out << signature_text(b) << "\n  " << b.doc << "\n";
  if (!b.planned.empty()) out << "  (not available in this build yet: " << b.planned << ")\n";
  const auto& params = b.signature.params;
  bool header = false;
  size_t width = 0;
  for (const auto& p : params) width = std::max(width, p.name.size());
  for (size_t i = 0; i < params.size(); ++i) {
    if (is_receiver(b, i)) continue;
    if (!header) out << "  parameters:\n";
    header = true;
    std::string d = default_of(params[i]);
    std::string notes = notes_of(params[i]);
    out << "    " << params[i].name << std::string(width - params[i].name.size() + 2, ' ')
        << kinds_list(params[i].kinds) << (d.empty() ? "  (required)" : "  = " + d)
        << (notes.empty() ? "" : "  — " + notes) << "\n";
  }
  if (!b.example.empty()) out << "  example:\n    " << b.example << "\n";
  out << "  group: " << b.group << "\n";
  return out.str();
}

namespace {

json::Json param_json(const ParamSpec& p) {
  const std::string d = default_of(p);
  return {{"name", p.name},        {"kinds", kinds_list(p.kinds)}, {"default", d},
          {"required", d.empty()}, {"rules", rules_text(p)},       {"doc", p.summary}};
}

json::Json builtin_json(const std::string& name, const Builtin& b) {
  json::Json params = json::Json::array();
  for (const auto& p : b.signature.params) params.push_back(param_json(p));
  return {{"name", name},
          {"group", b.group},
          {"signature", signature_text(b)},
          {"doc", b.doc},
          {"example", b.example},
          {"planned", b.planned},
          {"params", std::move(params)}};
}

}  // namespace

std::string reference_json() {
  // One builtin per line, so a diff of two versions shows which builtins changed.
  std::string out = "{\"modules\": " + json::dump(builtin_modules()) + ",\n \"builtins\": [\n";
  bool first = true;
  for (const auto& [name, b] : builtins().all()) {
    out += (first ? "  " : ",\n  ") + json::dump(builtin_json(name, b));
    first = false;
  }
  return out + "\n]}\n";
}

}  // namespace perturb::lang
