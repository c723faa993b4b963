#include "interpreter/ide/analysis.h"

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "interpreter/builtins/table.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"

namespace perturb::lang::ide {
namespace {

// Calls `on_expr` for every expression of a statement list, outermost first.
void walk_exprs(const std::vector<StmtPtr>& body, const std::function<void(const Expr&)>& on_expr);

void walk_function(const FunctionDecl& decl, const std::function<void(const Expr&)>& on_expr) {
  for (const auto& p : decl.params) {
    if (p.default_value) on_expr(*p.default_value);
  }
  walk_exprs(decl.body, on_expr);
}

void walk_expr(const Expr& e, const std::function<void(const Expr&)>& on_expr);

void walk_children(const Expr& e, const std::function<void(const Expr&)>& on_expr) {
  auto visit = [&](const ExprPtr& child) {
    if (child) walk_expr(*child, on_expr);
  };
  switch (e.kind) {
    case ExprKind::kList:
      for (const auto& item : static_cast<const ListExpr&>(e).items) visit(item);
      break;
    case ExprKind::kRecord:
      for (const auto& f : static_cast<const RecordExpr&>(e).fields) visit(f.value);
      break;
    case ExprKind::kLambda: {
      std::function<void(const Expr&)> nested = [&](const Expr& x) { walk_expr(x, on_expr); };
      walk_function(*static_cast<const LambdaExpr&>(e).decl, nested);
      break;
    }
    case ExprKind::kUnary:
      visit(static_cast<const UnaryExpr&>(e).operand);
      break;
    case ExprKind::kBinary:
      visit(static_cast<const BinaryExpr&>(e).left);
      visit(static_cast<const BinaryExpr&>(e).right);
      break;
    case ExprKind::kCall:
      visit(static_cast<const CallExpr&>(e).callee);
      for (const auto& a : static_cast<const CallExpr&>(e).args) visit(a.value);
      break;
    case ExprKind::kField:
      visit(static_cast<const FieldExpr&>(e).object);
      break;
    case ExprKind::kIndex:
      visit(static_cast<const IndexExpr&>(e).object);
      for (const auto& s : static_cast<const IndexExpr&>(e).subscripts) {
        visit(s.index);
        visit(s.lo);
        visit(s.hi);
      }
      break;
    default:
      break;
  }
}

void walk_expr(const Expr& e, const std::function<void(const Expr&)>& on_expr) {
  on_expr(e);
  walk_children(e, on_expr);
}

void walk_exprs(const std::vector<StmtPtr>& body, const std::function<void(const Expr&)>& on_expr) {
  auto visit = [&](const ExprPtr& e) {
    if (e) walk_expr(*e, on_expr);
  };
  for (const auto& stmt : body) {
    switch (stmt->kind) {
      case StmtKind::kLet:
        visit(static_cast<const LetStmt&>(*stmt).value);
        break;
      case StmtKind::kDecl:
        visit(static_cast<const DeclStmt&>(*stmt).value);
        break;
      case StmtKind::kAssign:
        visit(static_cast<const AssignStmt&>(*stmt).value);
        break;
      case StmtKind::kFn:
        walk_function(*static_cast<const FnStmt&>(*stmt).decl, [&](const Expr& x) { on_expr(x); });
        break;
      case StmtKind::kReturn:
        visit(static_cast<const ReturnStmt&>(*stmt).value);
        break;
      case StmtKind::kFor:
        visit(static_cast<const ForStmt&>(*stmt).iterable);
        walk_exprs(static_cast<const ForStmt&>(*stmt).body, on_expr);
        break;
      case StmtKind::kWhile:
        visit(static_cast<const WhileStmt&>(*stmt).condition);
        walk_exprs(static_cast<const WhileStmt&>(*stmt).body, on_expr);
        break;
      case StmtKind::kIf:
        visit(static_cast<const IfStmt&>(*stmt).condition);
        walk_exprs(static_cast<const IfStmt&>(*stmt).then_body, on_expr);
        walk_exprs(static_cast<const IfStmt&>(*stmt).else_body, on_expr);
        break;
      case StmtKind::kExpr:
        visit(static_cast<const ExprStmt&>(*stmt).expr);
        break;
      default:
        break;
    }
  }
}

// Calls `visit` on every statement of `body` and of the blocks nested in it, outer first.
void for_each_statement(const std::vector<StmtPtr>& body,
                        const std::function<void(const Stmt&)>& visit) {
  for (const auto& s : body) {
    visit(*s);
    if (s->kind == StmtKind::kFn)
      for_each_statement(static_cast<const FnStmt&>(*s).decl->body, visit);
    if (s->kind == StmtKind::kFor) for_each_statement(static_cast<const ForStmt&>(*s).body, visit);
    if (s->kind == StmtKind::kWhile)
      for_each_statement(static_cast<const WhileStmt&>(*s).body, visit);
    if (s->kind == StmtKind::kIf) {
      for_each_statement(static_cast<const IfStmt&>(*s).then_body, visit);
      for_each_statement(static_cast<const IfStmt&>(*s).else_body, visit);
    }
  }
}

// The `{ ... }` pairs of the text (blocks and records alike), outside strings and comments.
std::vector<std::pair<size_t, size_t>> brace_pairs(const std::string& text) {
  std::vector<std::pair<size_t, size_t>> pairs;
  std::vector<size_t> open;
  for (size_t i = 0; i < text.size(); ++i) {
    i = skip_string_or_comment(text, i, text.size());
    if (i >= text.size()) break;
    const char c = text[i];
    if (c == '{') {
      open.push_back(i);
    } else if (c == '}' && !open.empty()) {
      pairs.emplace_back(open.back(), i + 1);
      open.pop_back();
    }
  }
  for (size_t o : open) pairs.emplace_back(o, text.size());  // an unclosed block runs to the end
  return pairs;
}

// Where an import's bound name is written: its last part or its `as` name, the last match on
// the import's line.
std::pair<size_t, size_t> name_after(const std::string& text, size_t from, size_t line_end,
                                     const std::string& name) {
  std::pair<size_t, size_t> found{from, from};
  size_t i = from;
  while (i < line_end) {
    if (text[i] == '#') break;
    if (!is_identifier_start(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < line_end && is_identifier_char(text[end])) ++end;
    if (end - i == name.size() && text.compare(i, end - i, name) == 0) found = {i, end};
    i = end;
  }
  return found;
}

// Records the checker's bindings and resolutions.
class Recorder : public CheckObserver {
 public:
  Recorder(Analysis& analysis, const LineIndex& lines) : analysis_(analysis), lines_(lines) {}

  int declared(const std::string& name, const Span& site, BindingSite how, Kinds kinds) override {
    Declaration d;
    d.name = name;
    d.how = how;
    d.kinds = kinds;
    if (how == BindingSite::kKnown) {
      d.scope_end = analysis_.text.size();
      for (size_t i = 0; i < analysis_.known.size(); ++i) {
        if (analysis_.known[i].name == name) d.known = static_cast<int>(i);
      }
    } else if (site.file == analysis_.source) {
      d.statement = lines_.offset_of_span_start(site.line, site.column);
      if (how != BindingSite::kImport) {
        d.begin = d.statement;
        d.end = d.begin + name.size();
      } else {
        const size_t line_end = lines_.line_end(site.line - 1);
        std::tie(d.begin, d.end) = name_after(analysis_.text, d.statement, line_end, name);
      }
    }
    analysis_.declarations.push_back(std::move(d));
    return static_cast<int>(analysis_.declarations.size() - 1);
  }

  void used(const std::string& name, const Span& at, int declaration) override {
    if (at.file == analysis_.source) uses_[{at.line, at.column}] = declaration;
  }

  // The binding a name written at `span` resolved to, or -1.
  int resolution(const Span& span) const {
    auto it = uses_.find({span.line, span.column});
    return it == uses_.end() ? -1 : it->second;
  }

 private:
  Analysis& analysis_;
  const LineIndex& lines_;
  std::map<std::pair<int, int>, int> uses_;
};

// Attaches what the checker did not record: each declaration's scope, its function and module,
// and whether it is top-level.
void complete_declarations(Analysis& a, const LineIndex& lines) {
  const auto pairs = brace_pairs(a.text);
  std::map<std::pair<int, int>, const Stmt*> statements;  // by span start
  for_each_statement(a.parsed->program.statements, [&](const Stmt& s) {
    statements[{s.span.line, s.span.column}] = &s;
  });
  for (auto& d : a.declarations) {
    if (d.how == BindingSite::kKnown) continue;
    // Parameters and loop variables live in the block that follows them; others in the
    // innermost block around them, from the binding on (a function from the block's start).
    std::pair<size_t, size_t> block{0, a.text.size()};
    if (d.how == BindingSite::kParam || d.how == BindingSite::kFor) {
      size_t best = a.text.size() + 1;
      for (const auto& p : pairs) {
        if (p.first >= d.begin && p.first < best) best = p.first, block = p;
      }
    } else {
      bool inside = false;  // the innermost pair around the statement starts last
      for (const auto& p : pairs) {
        if (p.first < d.statement && d.statement < p.second && (!inside || p.first > block.first))
          block = p, inside = true;
      }
    }
    d.top_level = block.first == 0 && block.second == a.text.size() &&
                  d.how != BindingSite::kParam && d.how != BindingSite::kFor;
    d.scope_begin =
        d.how == BindingSite::kLet || d.how == BindingSite::kDecl || d.how == BindingSite::kImport
            ? d.statement
            : block.first;
    d.scope_end = block.second;
  }
  // Functions and modules, from the statements the declarations start at.
  for (auto& d : a.declarations) {
    if (d.how == BindingSite::kKnown || d.how == BindingSite::kParam) continue;
    const LspPosition p = lines.position_of(d.statement);
    const int line = p.line + 1;
    const int column = static_cast<int>(lines.code_points_before(d.statement) -
                                        lines.code_points_before(lines.line_start(p.line))) +
                       1;
    auto it = statements.find({line, column});
    if (it == statements.end()) continue;
    const Stmt& s = *it->second;
    if (s.kind == StmtKind::kFn) d.function = static_cast<const FnStmt&>(s).decl.get();
    if (s.kind == StmtKind::kLet) {
      const auto& let = static_cast<const LetStmt&>(s);
      if (let.value->kind == ExprKind::kLambda)
        d.function = static_cast<const LambdaExpr&>(*let.value).decl.get();
    }
    if (s.kind == StmtKind::kImport) {
      const auto& import = static_cast<const ImportStmt&>(s);
      d.module_path = import.path;
      for (const auto& part : import.path) d.module += (d.module.empty() ? "" : ".") + part;
    }
  }
}

// The builtin entry `<kind>.<field>` or the kind's field, for `value.field` of a known kind.
void resolve_kind_member(Occurrence& o, Kinds kinds, const std::string& field) {
  if (!is_single_kind(kinds) || kinds == bits(Kind::kModule)) return;
  const Kind kind = static_cast<Kind>(kinds);
  const std::string method = std::string(kind_name(kind)) + "." + field;
  if (builtins().find(method)) {
    o.builtin = method;
  } else if (descriptor_of(kind).field(field)) {
    o.receiver_kind = kinds;
    o.field = field;
  }
}

// `f(x, steps: 3)` with `fn f(model, steps: 5)`: each named argument is a use of the parameter,
// so renaming the parameter renames it at the calls too.
void named_arguments_of_script_call(Analysis& a, const CallExpr& call, const LineIndex& lines,
                                    const Recorder& recorder,
                                    const std::map<size_t, int>& parameter_at) {
  if (call.callee->kind != ExprKind::kName) return;
  const int callee = recorder.resolution(call.callee->span);
  if (callee < 0 || !a.declarations[callee].function) return;
  const FunctionDecl& decl = *a.declarations[callee].function;
  for (const auto& arg : call.args) {
    if (arg.name.empty() || arg.span.file != a.source) continue;
    for (const auto& p : decl.params) {
      if (p.name != arg.name || p.span.file != a.source) continue;
      auto it = parameter_at.find(lines.offset_of_span_start(p.span.line, p.span.column));
      if (it == parameter_at.end()) continue;
      Occurrence o;
      o.begin = lines.offset_of_span_start(arg.span.line, arg.span.column);
      o.end = o.begin + arg.name.size();
      o.declaration = it->second;
      a.occurrences.push_back(o);
    }
  }
}

// Every name and field written in the program, with what it refers to.
void collect_occurrences(Analysis& a, const LineIndex& lines, const Recorder& recorder) {
  auto range = [&](const Span& span, size_t length) {
    const size_t begin = lines.offset_of_span_start(span.line, span.column);
    return std::make_pair(begin, begin + length);
  };
  std::map<size_t, int> parameter_at;  // a parameter's declaration by where its name is
  for (size_t i = 0; i < a.declarations.size(); ++i) {
    if (a.declarations[i].how == BindingSite::kParam)
      parameter_at[a.declarations[i].begin] = static_cast<int>(i);
  }
  walk_exprs(a.parsed->program.statements, [&](const Expr& e) {
    if (e.kind == ExprKind::kCall) {
      named_arguments_of_script_call(a, static_cast<const CallExpr&>(e), lines, recorder,
                                     parameter_at);
    } else if (e.kind == ExprKind::kName) {
      const auto& n = static_cast<const NameExpr&>(e);
      if (n.span.file != a.source) return;
      Occurrence o;
      std::tie(o.begin, o.end) = range(n.span, n.name.size());
      o.declaration = recorder.resolution(n.span);
      if (o.declaration < 0 && builtins().find(n.name)) o.builtin = n.name;
      a.occurrences.push_back(o);
    } else if (e.kind == ExprKind::kField) {
      const auto& f = static_cast<const FieldExpr&>(e);
      if (f.field_span.file != a.source) return;
      Occurrence o;
      std::tie(o.begin, o.end) = range(f.field_span, f.field.size());
      if (f.object->kind == ExprKind::kName) {
        const auto& object = static_cast<const NameExpr&>(*f.object);
        const int d = recorder.resolution(object.span);
        const auto& modules = builtin_modules();
        if (d >= 0 && a.declarations[d].how == BindingSite::kImport) {
          o.module_declaration = d;
          o.member = f.field;
        } else if (d >= 0) {
          resolve_kind_member(o, a.declarations[d].kinds, f.field);
        } else if (std::find(modules.begin(), modules.end(), object.name) != modules.end() &&
                   builtins().find(object.name + "." + f.field)) {
          o.builtin = object.name + "." + f.field;
        }
      }
      a.occurrences.push_back(o);
    }
  });
}

// Assignment targets are uses the expression walk does not see: add them from the recorder.
void collect_assignments(Analysis& a, const LineIndex& lines, const Recorder& recorder) {
  for_each_statement(a.parsed->program.statements, [&](const Stmt& s) {
    if (s.kind != StmtKind::kAssign || s.span.file != a.source) return;
    Occurrence o;
    o.begin = lines.offset_of_span_start(s.span.line, s.span.column);
    o.end = o.begin + static_cast<const AssignStmt&>(s).name.size();
    o.declaration = recorder.resolution(s.span);
    if (o.declaration >= 0) a.occurrences.push_back(o);
  });
}

std::string fnv_hex(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  std::ostringstream out;
  out << std::hex << hash;
  return out.str();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string executable_dir() {
  std::error_code error;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "" : exe.parent_path().string();
}

}  // namespace

std::string Declaration::keyword() const {
  switch (how) {
    case BindingSite::kLet:
      return "let";
    case BindingSite::kDecl:
      return kinds_in(kinds).size() == 1 ? kind_name(kinds_in(kinds)[0]) : "let";
    case BindingSite::kFn:
      return "fn";
    case BindingSite::kParam:
      return "parameter";
    case BindingSite::kFor:
      return "for";
    case BindingSite::kImport:
      return "import";
    case BindingSite::kKnown:
      return "known";
  }
  return "let";
}

std::vector<KnownName> known_names_from(const Env& globals) {
  std::vector<KnownName> out;
  const auto& modules = builtin_modules();
  for (const auto& [name, value] : globals.vars) {
    if (std::find(modules.begin(), modules.end(), name) != modules.end()) continue;
    KnownName k;
    k.name = name;
    k.kinds = bits(value.kind());
    k.description = describe_type(value);
    if (value.is<RecordPtr>()) k.fields = value.as<RecordPtr>()->keys();
    if (value.is<ObjectPtr>()) k.fields = value.as<ObjectPtr>()->field_names();
    if (value.is<CallablePtr>()) {
      if (auto closure = std::dynamic_pointer_cast<Closure>(value.as<CallablePtr>())) {
        for (const auto& p : closure->decl->params) k.params.push_back(p.name);
      }
    }
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(),
            [](const KnownName& l, const KnownName& r) { return l.name < r.name; });
  return out;
}

const Occurrence* Analysis::occurrence_at(size_t offset) const {
  for (const auto& o : occurrences) {
    if (o.begin <= offset && offset <= o.end) return &o;
  }
  return nullptr;
}

int Analysis::declaration_at(size_t offset) const {
  for (size_t i = 0; i < declarations.size(); ++i) {
    const auto& d = declarations[i];
    if (d.begin < d.end && d.begin <= offset && offset <= d.end) return static_cast<int>(i);
  }
  return -1;
}

const Declaration* Analysis::lookup(const std::string& name, size_t offset) const {
  for (const Declaration* d : visible_at(offset)) {
    if (d->name == name) return d;
  }
  return nullptr;
}

std::vector<const Declaration*> Analysis::visible_at(size_t offset) const {
  // The innermost (narrowest scope), then the latest binding of each name wins.
  std::map<std::string, const Declaration*> best;
  for (const auto& d : declarations) {
    if (offset < d.scope_begin || offset > d.scope_end) continue;
    auto [it, inserted] = best.emplace(d.name, &d);
    if (inserted) continue;
    const Declaration* old = it->second;
    const size_t old_width = old->scope_end - old->scope_begin;
    const size_t width = d.scope_end - d.scope_begin;
    if (d.scope_end <= old->scope_end && (d.scope_begin >= old->scope_begin || width < old_width))
      it->second = &d;
  }
  std::vector<const Declaration*> out;
  for (const auto& [name, d] : best) out.push_back(d);
  return out;
}

Analysis analyze(const std::string& path, const std::string& text,
                 const std::vector<KnownName>& known) {
  Analysis a;
  a.path = path;
  a.text = text;
  a.known = known;
  a.source = std::make_shared<SourceFile>(path.empty() ? "<document>" : path, text);
  a.parsed = std::make_shared<ParseResult>(parse(a.source));
  if (a.parsed->errors.has_errors()) {
    a.diagnostics = a.parsed->errors.diagnostics();
    return a;
  }
  a.complete = true;
  const LineIndex lines(text);
  Recorder recorder(a, lines);
  Checker checker;
  checker.set_observer(&recorder);
  for (const auto& k : a.known) checker.define_global(k.name, k.kinds);
  DiagnosticSink sink;
  checker.check(a.parsed->program, sink);
  checker.set_observer(nullptr);
  a.diagnostics = sink.diagnostics();
  complete_declarations(a, lines);
  collect_occurrences(a, lines, recorder);
  collect_assignments(a, lines, recorder);
  std::sort(a.occurrences.begin(), a.occurrences.end(),
            [](const Occurrence& l, const Occurrence& r) { return l.begin < r.begin; });
  return a;
}

Analysis analyze_around(const std::string& path, const std::string& text, size_t offset,
                        const std::vector<KnownName>& known) {
  Analysis full = analyze(path, text, known);
  if (full.complete) return full;
  const LineIndex lines(text);
  const LspPosition at = lines.position_of(offset);
  std::vector<std::pair<size_t, size_t>> attempts = {
      {lines.line_start(at.line), lines.line_end(at.line)}};
  // The innermost bracket still open before the offset: a call spread over lines.
  std::vector<size_t> open;
  for (size_t i = 0; i < std::min(offset, text.size()); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"' && text[i] != '\n'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '(' || c == '[' || c == '{') {
      open.push_back(i);
    } else if ((c == ')' || c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    }
  }
  if (!open.empty()) {
    const size_t statement_line = lines.position_of(open.front()).line;
    attempts.emplace_back(lines.line_start(statement_line), lines.line_end(at.line));
    attempts.emplace_back(lines.line_start(statement_line), text.size());
  }
  attempts.emplace_back(lines.line_start(at.line), text.size());
  for (const auto& [begin, end] : attempts) {
    Analysis repaired = analyze(path, blank_out(text, begin, end), known);
    if (!repaired.complete) continue;
    repaired.text = text;
    repaired.complete = false;
    repaired.diagnostics = full.diagnostics;
    return repaired;
  }
  return full;
}

std::optional<ModuleOutline> outline_module(const std::vector<std::string>& module_path,
                                            const std::string& importer) {
  auto source = find_module(module_path, importer);
  if (!source) return std::nullopt;
  ModuleOutline outline;
  outline.name = source->name;
  outline.path = openable_module_path(source->path, source->text);
  outline.text = source->text;
  Analysis a = analyze(outline.path, source->text);
  for (const auto& d : a.declarations) {
    if (d.top_level) outline.members.push_back(d);
  }
  outline.parsed = a.parsed;
  return outline;
}

std::string openable_module_path(const std::string& module_path, const std::string& text) {
  const std::string prefix = "<std>/";
  if (module_path.compare(0, prefix.size(), prefix) != 0) return module_path;
  const std::string file = module_path.substr(prefix.size());
  std::vector<std::string> candidates;
  if (const char* dir = std::getenv("PERTURB_STDLIB_DIR")) candidates.push_back(dir);
  const std::string exe = executable_dir();
  if (!exe.empty()) {
    candidates.push_back(exe + "/../stdlib");
    candidates.push_back(exe + "/../share/perturb/stdlib");
  }
  for (const auto& dir : candidates) {
    const std::string path = dir + "/" + file;
    if (read_file(path) == text) {
      std::error_code error;
      auto canonical = std::filesystem::weakly_canonical(path, error);
      return error ? path : canonical.string();
    }
  }
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string cache = xdg && *xdg ? xdg : home && *home ? std::string(home) + "/.cache" : "/tmp";
  const std::string dir = cache + "/perturb/stdlib-" + fnv_hex(text);
  const std::string path = dir + "/" + file;
  if (read_file(path) != text) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    // Written beside and renamed, so a second server never reads a half-written file.
    const std::string partial = path + ".tmp" + std::to_string(getpid());
    std::ofstream(partial, std::ios::binary) << text;
    std::filesystem::rename(partial, path, error);
  }
  return path;
}

std::string builtin_markdown(const Builtin& b) {
  std::string md = "```perturb\n" + signature_text(b) + "\n```\n\n" + b.doc + "\n";
  std::string params;
  for (const auto& p : b.signature.params) {
    if (p.name == "self") continue;
    std::string line = "- `" + p.name + "`";
    if (p.kinds != kAnyKind) line += ": " + kinds_text(p.kinds);
    if (p.default_value) {
      line += " = `" + format_value(*p.default_value, true) + "`";
    } else if (!p.default_text.empty()) {
      line += " = `" + p.default_text + "`";
    } else if (!p.optional) {
      line += " (required)";
    }
    const std::string rules = rules_text(p);
    if (!rules.empty()) line += "; " + rules;
    if (!p.summary.empty()) line += " — " + p.summary;
    params += line + "\n";
  }
  if (!params.empty()) md += "\nParameters:\n\n" + params;
  if (!b.example.empty()) md += "\nExample: `" + b.example + "`\n";
  if (!b.planned.empty()) md += "\n(not available in this build yet: " + b.planned + ")\n";
  return md;
}

}  // namespace perturb::lang::ide
