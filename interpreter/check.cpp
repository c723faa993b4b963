#include "interpreter/check.h"

#include <algorithm>
#include <set>

#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/table.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "interpreter/parse.h"

namespace perturb::lang {
namespace {

constexpr Kinds kComposable = Kind::kThreat | Kind::kPolicy;

// A kind's fields as "did you mean" candidates, in alphabetical order (ties go to the first).
std::vector<std::string> sorted_field_names(const KindDescriptor& type) {
  std::vector<std::string> names = type.field_names();
  std::sort(names.begin(), names.end());
  return names;
}

Kinds declared_kind(DeclKind decl) {
  switch (decl) {
    case DeclKind::kThreat:
      return bits(Kind::kThreat);
    case DeclKind::kAttack:
      return bits(Kind::kAttack);
    case DeclKind::kPolicy:
      return bits(Kind::kPolicy);
    case DeclKind::kSchedule:
      return bits(Kind::kSchedule);
  }
  return kAnyKind;
}

std::string kinds_word(Kinds kinds) {
  std::string text;
  for (Kind k : kinds_in(kinds)) text += (text.empty() ? "" : " or ") + std::string(kind_name(k));
  return text;
}

bool known(Kinds kinds) {
  return kinds != kAnyKind && kinds != 0;
}

}  // namespace

Symbol* Scope::lookup(const std::string& name) {
  for (Scope* s = this; s; s = s->parent_) {
    auto it = s->symbols_.find(name);
    if (it != s->symbols_.end()) return &it->second;
  }
  return nullptr;
}

std::vector<std::string> Scope::visible_names() const {
  std::vector<std::string> names;
  for (const Scope* s = this; s; s = s->parent_) {
    for (const auto& [name, symbol] : s->symbols_) names.push_back(name);
  }
  return names;
}

Checker::Checker() {
  for (const auto& module : builtin_modules()) {
    auto info = std::make_shared<ModuleInfo>();
    info->name = module;
    info->builtin = true;
    for (const auto& member : builtins().members(module)) {
      info->members[member] = Symbol{bits(Kind::kFunction), nullptr, nullptr};
    }
    globals_.define(module, Symbol{bits(Kind::kModule), nullptr, info});
  }
}

void Checker::define_global(const std::string& name, Kinds kinds) {
  bind(globals_, name, Symbol{kinds, nullptr, nullptr}, Span{}, BindingSite::kKnown);
}

void Checker::bind(Scope& scope, const std::string& name, Symbol symbol, const Span& site,
                   BindingSite how) {
  if (observer_) symbol.declaration = observer_->declared(name, site, how, symbol.kinds);
  scope.define(name, std::move(symbol));
}

void Checker::note_use(const std::string& name, const Span& at, const Symbol& symbol) {
  if (observer_) observer_->used(name, at, symbol.declaration);
}

void Checker::check(const Program& program, DiagnosticSink& sink) {
  sink_ = &sink;
  block(program.statements, globals_, Context{});
}

Kinds Checker::kinds_of(const Expr& e, DiagnosticSink& sink) {
  sink_ = &sink;
  return expr(e, globals_);
}

void Checker::block(const std::vector<StmtPtr>& body, Scope& scope, Context context) {
  for (const auto& stmt : body) {
    if (stmt->kind == StmtKind::kFn) {
      const auto& fn = static_cast<const FnStmt&>(*stmt);
      bind(scope, fn.decl->name, Symbol{bits(Kind::kFunction), fn.decl.get(), nullptr}, fn.span,
           BindingSite::kFn);
    }
  }
  for (const auto& stmt : body) statement(*stmt, scope, context);
}

void Checker::statement(const Stmt& stmt, Scope& scope, Context context) {
  switch (stmt.kind) {
    case StmtKind::kLet: {
      const auto& let = static_cast<const LetStmt&>(stmt);
      Kinds kinds = expr(*let.value, scope);
      const FunctionDecl* fn = let.value->kind == ExprKind::kLambda
                                   ? static_cast<const LambdaExpr&>(*let.value).decl.get()
                                   : nullptr;
      bind(scope, let.name, Symbol{kinds, fn, module_of(*let.value, scope)}, stmt.span,
           BindingSite::kLet);
      return;
    }
    case StmtKind::kDecl: {
      const auto& decl = static_cast<const DeclStmt&>(stmt);
      Kinds kinds = expr(*decl.value, scope);
      Kinds expected = declared_kind(decl.decl);
      // A threat declared as a policy becomes sample(threat) (builtins/policy.h).
      Kinds accepted = decl.decl == DeclKind::kPolicy ? expected | Kind::kThreat : expected;
      if (known(kinds) && !(kinds & accepted)) {
        error(decl.value->span,
              std::string("declared ") + decl_kind_text(decl.decl) + ", got " + kinds_word(kinds));
      }
      bind(scope, decl.name, Symbol{expected, nullptr, nullptr}, stmt.span, BindingSite::kDecl);
      return;
    }
    case StmtKind::kAssign: {
      const auto& assign = static_cast<const AssignStmt&>(stmt);
      Kinds kinds = expr(*assign.value, scope);
      Symbol* symbol = scope.lookup(assign.name);
      if (!symbol) {
        std::string hint = closest_match(assign.name, scope.visible_names());
        error(stmt.span, "cannot assign to '" + assign.name + "': it is not declared; use 'let " +
                             assign.name + " = ...'" +
                             (hint.empty() ? "" : " (or did you mean '" + hint + "'?)"));
        return;
      }
      note_use(assign.name,
               Span{stmt.span.file, stmt.span.line, stmt.span.column,
                    static_cast<int>(assign.name.size())},
               *symbol);
      symbol->kinds |= kinds;
      symbol->function = nullptr;
      return;
    }
    case StmtKind::kFn:
      function(*static_cast<const FnStmt&>(stmt).decl, scope);
      return;
    case StmtKind::kImport:
      import(static_cast<const ImportStmt&>(stmt), scope);
      return;
    case StmtKind::kReturn: {
      const auto& ret = static_cast<const ReturnStmt&>(stmt);
      if (!context.in_function) error(stmt.span, "'return' outside a function");
      if (ret.value) expr(*ret.value, scope);
      return;
    }
    case StmtKind::kBreak:
    case StmtKind::kContinue:
      if (!context.in_loop) {
        error(stmt.span, std::string("'") + (stmt.kind == StmtKind::kBreak ? "break" : "continue") +
                             "' outside a loop");
      }
      return;
    case StmtKind::kFor: {
      const auto& loop = static_cast<const ForStmt&>(stmt);
      Kinds iterable = expr(*loop.iterable, scope);
      if (known(iterable) && !(iterable & (Kind::kList | Kind::kTensor | Kind::kRecord))) {
        error(loop.iterable->span, "cannot loop over " + kinds_text(iterable));
      }
      Scope body(&scope);
      bind(body, loop.var,
           Symbol{iterable == bits(Kind::kTensor) ? bits(Kind::kTensor) : kAnyKind, nullptr,
                  nullptr},
           stmt.span, BindingSite::kFor);
      block(loop.body, body, Context{context.in_function, true});
      return;
    }
    case StmtKind::kWhile: {
      const auto& loop = static_cast<const WhileStmt&>(stmt);
      expr(*loop.condition, scope);
      Scope body(&scope);
      block(loop.body, body, Context{context.in_function, true});
      return;
    }
    case StmtKind::kIf: {
      const auto& branch = static_cast<const IfStmt&>(stmt);
      expr(*branch.condition, scope);
      Scope then_scope(&scope);
      block(branch.then_body, then_scope, context);
      Scope else_scope(&scope);
      block(branch.else_body, else_scope, context);
      return;
    }
    case StmtKind::kExpr:
      expr(*static_cast<const ExprStmt&>(stmt).expr, scope);
      return;
  }
}

void Checker::function(const FunctionDecl& decl, Scope& scope) {
  Scope body(&scope);
  std::set<std::string> seen;
  for (const auto& param : decl.params) {
    if (!seen.insert(param.name).second)
      error(param.span, "parameter '" + param.name + "' is listed twice");
    if (param.default_value) expr(*param.default_value, body);
    bind(body, param.name, Symbol{}, param.span, BindingSite::kParam);
  }
  block(decl.body, body, Context{true, false});
}

void Checker::import(const ImportStmt& stmt, Scope& scope) {
  std::string key;
  for (const auto& part : stmt.path) key += (key.empty() ? "" : ".") + part;
  auto cached = imported_.find(key);
  if (cached == imported_.end()) {
    auto source = find_module(stmt.path, stmt.span.file ? stmt.span.file->name : "");
    if (!source) {
      std::string hint = stmt.path.size() == 2 && stmt.path[0] == "std"
                             ? " (the standard library has: presets)"
                             : "";
      error(stmt.span, "no module named '" + key + "'" + hint);
      return;
    }
    ParseResult parsed = parse(std::make_shared<SourceFile>(source->path, source->text));
    auto info = std::make_shared<ModuleInfo>();
    info->name = key;
    if (parsed.errors.has_errors()) {
      for (const auto& d : parsed.errors.diagnostics()) sink_->error(d.span, d.message);
    } else {
      Checker module_checker;
      module_checker.check(parsed.program, *sink_);
      for (const auto& stmt_ptr : parsed.program.statements) {
        if (stmt_ptr->kind == StmtKind::kLet || stmt_ptr->kind == StmtKind::kDecl ||
            stmt_ptr->kind == StmtKind::kFn) {
          std::string name = stmt_ptr->kind == StmtKind::kLet
                                 ? static_cast<const LetStmt&>(*stmt_ptr).name
                             : stmt_ptr->kind == StmtKind::kDecl
                                 ? static_cast<const DeclStmt&>(*stmt_ptr).name
                                 : static_cast<const FnStmt&>(*stmt_ptr).decl->name;
          if (Symbol* s = module_checker.globals_.lookup(name))
            info->members[name] = Symbol{s->kinds, nullptr, nullptr};
        }
      }
      // The module's AST must outlive the symbols that point into it: keep none.
    }
    cached = imported_.emplace(key, info).first;
  }
  bind(scope, stmt.alias, Symbol{bits(Kind::kModule), nullptr, cached->second}, stmt.span,
       BindingSite::kImport);
}

Kinds Checker::expr(const Expr& e, Scope& scope) {
  switch (e.kind) {
    case ExprKind::kNumber:
      return bits(Kind::kNumber);
    case ExprKind::kString:
      return bits(Kind::kString);
    case ExprKind::kBool:
      return bits(Kind::kBool);
    case ExprKind::kNone:
      return bits(Kind::kNone);
    case ExprKind::kName:
      return name(static_cast<const NameExpr&>(e), scope);
    case ExprKind::kList:
      for (const auto& item : static_cast<const ListExpr&>(e).items) expr(*item, scope);
      return bits(Kind::kList);
    case ExprKind::kRecord:
      for (const auto& f : static_cast<const RecordExpr&>(e).fields) expr(*f.value, scope);
      return bits(Kind::kRecord);
    case ExprKind::kLambda:
      function(*static_cast<const LambdaExpr&>(e).decl, scope);
      return bits(Kind::kFunction);
    case ExprKind::kUnary: {
      const auto& u = static_cast<const UnaryExpr&>(e);
      Kinds operand = expr(*u.operand, scope);
      if (u.op == UnaryOp::kNot) return bits(Kind::kBool);
      if (known(operand) && !(operand & (Kind::kNumber | Kind::kTensor))) {
        error(u.span,
              std::string("cannot apply '") + unary_op_text(u.op) + "' to " + kinds_text(operand));
      }
      return operand & (Kind::kNumber | Kind::kTensor);
    }
    case ExprKind::kBinary:
      return binary(static_cast<const BinaryExpr&>(e), scope);
    case ExprKind::kCall:
      return call(static_cast<const CallExpr&>(e), scope);
    case ExprKind::kField:
      return field(static_cast<const FieldExpr&>(e), scope);
    case ExprKind::kIndex: {
      const auto& index = static_cast<const IndexExpr&>(e);
      Kinds object = expr(*index.object, scope);
      for (const auto& sub : index.subscripts) {
        if (sub.index) expr(*sub.index, scope);
        if (sub.lo) expr(*sub.lo, scope);
        if (sub.hi) expr(*sub.hi, scope);
      }
      if (object == bits(Kind::kTensor)) return bits(Kind::kTensor);
      if (known(object) &&
          !(object & (Kind::kTensor | Kind::kList | Kind::kString | Kind::kRecord))) {
        error(index.span, "cannot index " + kinds_text(object));
      }
      return kAnyKind;
    }
  }
  return kAnyKind;
}

Kinds Checker::name(const NameExpr& e, Scope& scope) {
  if (Symbol* symbol = scope.lookup(e.name)) {
    note_use(e.name, e.span, *symbol);
    return symbol->kinds;
  }
  if (builtins().find(e.name)) return bits(Kind::kFunction);
  std::vector<std::string> candidates = scope.visible_names();
  for (const auto& n : builtins().global_names()) candidates.push_back(n);
  std::string hint = closest_match(e.name, candidates);
  error(e.span,
        "unknown name '" + e.name + "'" + (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
  return kAnyKind;
}

Kinds Checker::binary(const BinaryExpr& e, Scope& scope) {
  Kinds l = expr(*e.left, scope);
  Kinds r = expr(*e.right, scope);
  auto fail = [&] {
    error(e.span, std::string("cannot apply '") + binary_op_text(e.op) + "' to " + kinds_text(l) +
                      " and " + kinds_text(r));
    return kAnyKind;
  };
  const Kinds numeric = Kind::kNumber | Kind::kBool | Kind::kTensor;
  bool both_known = is_single_kind(l) && is_single_kind(r);
  switch (e.op) {
    case BinaryOp::kAnd:
    case BinaryOp::kOr:
    case BinaryOp::kEq:
    case BinaryOp::kNe:
      // Either side may be a tensor (argmax(...) == 3): the result may be a mask.
      return (l | r) & bits(Kind::kTensor) ? bits(Kind::kTensor) | Kind::kBool : bits(Kind::kBool);
    case BinaryOp::kRange:
      if (both_known && (l != bits(Kind::kNumber) || r != bits(Kind::kNumber))) return fail();
      return bits(Kind::kRange);
    case BinaryOp::kThen:
    case BinaryOp::kUnion:
    case BinaryOp::kIntersect: {
      Kinds result = l & r & (e.op == BinaryOp::kThen ? kComposable | Kind::kModel : kComposable);
      // A threat with a policy: the threat serves as sample(threat), the result is a policy.
      if (result == 0 && e.op != BinaryOp::kIntersect && (l & kComposable) && (r & kComposable) &&
          ((l | r) & bits(Kind::kPolicy)))
        result = bits(Kind::kPolicy);
      if (known(l) && known(r) && result == 0) return fail();
      return result ? result : kAnyKind;
    }
    default:
      break;
  }
  if (!both_known) return kAnyKind;
  bool l_num = l & numeric, r_num = r & numeric;
  bool is_compare = e.op == BinaryOp::kLt || e.op == BinaryOp::kLe || e.op == BinaryOp::kGt ||
                    e.op == BinaryOp::kGe;
  if (l_num && r_num) {
    if (l == bits(Kind::kTensor) || r == bits(Kind::kTensor)) return bits(Kind::kTensor);
    return is_compare ? bits(Kind::kBool) : bits(Kind::kNumber);
  }
  if (l == bits(Kind::kString) && r == bits(Kind::kString) &&
      (e.op == BinaryOp::kAdd || is_compare)) {
    return is_compare ? bits(Kind::kBool) : bits(Kind::kString);
  }
  if (l == bits(Kind::kList) && r == bits(Kind::kList) && e.op == BinaryOp::kAdd)
    return bits(Kind::kList);
  return fail();
}

std::shared_ptr<ModuleInfo> Checker::module_of(const Expr& e, Scope& scope) {
  if (e.kind != ExprKind::kName) return nullptr;
  const auto& name = static_cast<const NameExpr&>(e);
  Symbol* symbol = scope.lookup(name.name);
  if (symbol) note_use(name.name, name.span, *symbol);
  return symbol ? symbol->module : nullptr;
}

void Checker::arguments(const CallExpr& call, Scope& scope) {
  for (const auto& arg : call.args) expr(*arg.value, scope);
}

Kinds Checker::call(const CallExpr& c, Scope& scope) {
  if (c.callee->kind == ExprKind::kName) {
    const auto& callee = static_cast<const NameExpr&>(*c.callee);
    Symbol* symbol = scope.lookup(callee.name);
    if (!symbol) {
      if (const Builtin* builtin = builtins().find(callee.name))
        return builtin_call(*builtin, c, scope, false);
      name(callee, scope);  // reports the unknown name
      arguments(c, scope);
      return kAnyKind;
    }
    note_use(callee.name, callee.span, *symbol);
    arguments(c, scope);
    if (symbol->function) script_call(*symbol->function, c);
    if (known(symbol->kinds) && !(symbol->kinds & (Kind::kFunction | Kind::kModel))) {
      error(c.span, "cannot call " + kinds_text(symbol->kinds) + " '" + callee.name +
                        "'; only functions and models can be called");
    }
    return symbol->kinds == bits(Kind::kModel) ? bits(Kind::kTensor) : kAnyKind;
  }
  if (c.callee->kind == ExprKind::kField) {
    const auto& f = static_cast<const FieldExpr&>(*c.callee);
    if (auto module = module_of(*f.object, scope)) {
      if (module->builtin) {
        if (const Builtin* member = builtins().find(module->name + "." + f.field))
          return builtin_call(*member, c, scope, false);
      }
      field(f, scope);  // reports an unknown member
      arguments(c, scope);
      return kAnyKind;
    }
    Kinds receiver = expr(*f.object, scope);
    if (is_single_kind(receiver)) {
      Kind kind = static_cast<Kind>(receiver);
      if (const Builtin* method = builtins().find(std::string(kind_name(kind)) + "." + f.field)) {
        return builtin_call(*method, c, scope, true);
      }
      const KindDescriptor& type = descriptor_of(kind);
      std::vector<std::string> candidates = type.methods();
      // Calling a field is left to the runtime; so is a kind with no fields or methods to suggest.
      const bool checkable = (type.fields_known && !type.fields.empty()) || !candidates.empty();
      const bool has_field = type.fields_known && type.field(f.field);
      if (!has_field && checkable) {
        std::string hint = closest_match(f.field, candidates);
        error(f.field_span, kind_with_article(kind) + " has no method '" + f.field + "'" +
                                (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
      }
    }
    arguments(c, scope);
    return kAnyKind;
  }
  Kinds callee = expr(*c.callee, scope);
  arguments(c, scope);
  if (known(callee) && !(callee & (Kind::kFunction | Kind::kModel))) {
    error(c.span,
          "cannot call " + kinds_text(callee) + "; only functions and models can be called");
  }
  return kAnyKind;
}

Kinds Checker::builtin_call(const Builtin& builtin, const CallExpr& c, Scope& scope,
                            bool has_receiver) {
  if (builtin.name == "grad") {
    if (c.args.size() != 2 || !c.args[0].name.empty() || !c.args[1].name.empty()) {
      error(c.span, "grad takes two arguments: grad(loss, x)");
    } else if (path_of(*c.args[1].value).empty()) {
      error(c.args[1].value->span,
            "grad differentiates with respect to a name or a field (like x or batch.x)");
    }
    arguments(c, scope);
    return bits(Kind::kTensor);
  }
  std::vector<Kinds> positional;
  std::vector<const Expr*> positional_exprs;
  std::vector<std::string> named;
  std::vector<const Argument*> named_args;
  std::vector<Kinds> named_kinds;
  for (const auto& arg : c.args) {
    Kinds kinds = expr(*arg.value, scope);
    if (arg.name.empty()) {
      positional.push_back(kinds);
      positional_exprs.push_back(arg.value.get());
    } else {
      named.push_back(arg.name);
      named_args.push_back(&arg);
      named_kinds.push_back(kinds);
    }
  }
  size_t offset = has_receiver ? 1 : 0;
  Binding binding = bind_arguments(builtin, positional.size() + offset, named, has_receiver);
  if (!binding.error.empty()) {
    int arg = binding.error_arg - static_cast<int>(offset);
    const Span& where = arg < 0 ? c.span
                        : arg < static_cast<int>(positional.size())
                            ? positional_exprs[arg]->span
                            : named_args[arg - positional.size()]->span;
    error(where, binding.error);
    return builtin.signature.returns;
  }
  auto check_kind = [&](int slot, Kinds kinds, const Expr& value, bool by_name) {
    if (slot < 0) return;
    const ParamSpec& param = builtin.signature.params[slot];
    if (!is_single_kind(kinds) || kinds == bits(Kind::kNone) || (kinds & param.kinds)) return;
    std::string variable =
        value.kind == ExprKind::kName ? static_cast<const NameExpr&>(value).name : "";
    error(value.span,
          kind_mismatch_message(builtin, static_cast<size_t>(slot), static_cast<Kind>(kinds),
                                variable, has_receiver, by_name));
  };
  for (size_t i = 0; i < positional.size(); ++i)
    check_kind(binding.slot[i + offset], positional[i], *positional_exprs[i], false);
  for (size_t j = 0; j < named_args.size(); ++j) {
    const Argument& arg = *named_args[j];
    check_kind(binding.slot[positional.size() + offset + j], named_kinds[j], *arg.value, true);
  }
  return builtin.signature.returns;
}

void Checker::script_call(const FunctionDecl& decl, const CallExpr& c) {
  size_t total_positional =
      std::count_if(c.args.begin(), c.args.end(), [](const Argument& a) { return a.name.empty(); });
  size_t positional = 0;
  std::vector<std::string> params;
  for (const auto& p : decl.params) params.push_back(p.name);
  std::set<std::string> given;
  for (const auto& arg : c.args) {
    if (arg.name.empty()) {
      ++positional;
      if (positional > decl.params.size()) {
        error(arg.value->span, decl.name + " takes " + std::to_string(decl.params.size()) +
                                   " argument" + (decl.params.size() == 1 ? "" : "s") + ", got " +
                                   std::to_string(total_positional));
        return;
      }
      given.insert(decl.params[positional - 1].name);
      continue;
    }
    if (std::find(params.begin(), params.end(), arg.name) == params.end()) {
      std::string hint = closest_match(arg.name, params);
      error(arg.span, decl.name + " has no parameter '" + arg.name + "'" +
                          (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
      continue;
    }
    if (!given.insert(arg.name).second)
      error(arg.span, decl.name + " got '" + arg.name + "' twice");
  }
  for (const auto& p : decl.params) {
    if (!p.default_value && !given.count(p.name)) {
      error(c.span, decl.name + " is missing its argument '" + p.name + "'");
    }
  }
}

Kinds Checker::field(const FieldExpr& f, Scope& scope) {
  if (auto module = module_of(*f.object, scope)) {
    auto it = module->members.find(f.field);
    if (it != module->members.end()) return it->second.kinds;
    std::vector<std::string> names;
    for (const auto& [n, s] : module->members) names.push_back(n);
    std::string hint = closest_match(f.field, names);
    error(f.field_span, "module " + module->name + " has no member '" + f.field + "'" +
                            (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    return kAnyKind;
  }
  Kinds object = expr(*f.object, scope);
  if (!is_single_kind(object)) return kAnyKind;
  Kind kind = static_cast<Kind>(object);
  const KindDescriptor& type = descriptor_of(kind);
  if (type.fields_known) {
    if (const FieldSpec* spec = type.field(f.field)) return spec->kinds;
  }
  if (builtins().find(type.name + "." + f.field)) return bits(Kind::kFunction);
  if (type.fields_known) {
    std::vector<std::string> candidates = type.methods();
    const std::vector<std::string> fields = sorted_field_names(type);
    candidates.insert(candidates.end(), fields.begin(), fields.end());
    std::string hint = closest_match(f.field, candidates);
    error(f.field_span, kind_with_article(kind) + " has no field or method '" + f.field + "'" +
                            (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
  }
  return kAnyKind;
}

}  // namespace perturb::lang
