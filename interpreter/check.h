#pragma once
// Static checks before anything runs: unknown names (with "did you mean"), declaration kinds,
// arity and named arguments of builtins and script functions, kinds of arguments where they
// are known, misplaced return/break. All errors of a file are collected, not just the first.

#include <map>
#include <memory>
#include <string>

#include "interpreter/ast.h"
#include "interpreter/diagnostics.h"
#include "interpreter/value.h"

namespace perturb::lang {

struct ModuleInfo;

struct Symbol {
  Kinds kinds = kAnyKind;
  const FunctionDecl* function = nullptr;  // for arity checks of script functions
  std::shared_ptr<ModuleInfo> module;      // for `zoo.x` and imported modules
  int declaration = -1;                    // the CheckObserver's id of its binding; -1: none
};

// What bound a name, for the editor tooling (interpreter/ide).
enum class BindingSite { kLet, kDecl, kFn, kParam, kFor, kImport, kKnown };

// Told of every binding and every resolved use while a program is checked, so the editor tooling
// (interpreter/ide) can go from a use to its declaration with the checker's own scoping instead of
// a second resolver. Observing changes nothing the checker reports.
class CheckObserver {
 public:
  virtual ~CheckObserver() = default;
  // `name` is bound with `kinds` by the construct at `site` (for `let`, `fn`, `for`, a
  // declaration or a parameter, the span of the name; for an import, of the whole statement).
  // Returns an id for uses.
  virtual int declared(const std::string& name, const Span& site, BindingSite how, Kinds kinds) = 0;
  // `name`, read or assigned at `at`, resolved to the binding with id `declaration` (-1 for a
  // binding the observer was not told of, such as a builtin module).
  virtual void used(const std::string& name, const Span& at, int declaration) = 0;
};

struct ModuleInfo {
  std::string name;
  bool builtin = false;  // members are builtin table entries "<name>.<member>"
  std::map<std::string, Symbol> members;
};

class Scope {
 public:
  explicit Scope(Scope* parent = nullptr) : parent_(parent) {}
  Symbol* lookup(const std::string& name);
  void define(const std::string& name, Symbol symbol) { symbols_[name] = std::move(symbol); }
  std::vector<std::string> visible_names() const;

 private:
  Scope* parent_;
  std::map<std::string, Symbol> symbols_;
};

class Checker {
 public:
  Checker();
  // Checks a program against the global scope, which persists across calls (the REPL checks
  // one input at a time). Errors go to `sink`.
  void check(const Program& program, DiagnosticSink& sink);
  // The static kinds of an expression in the global scope (for the REPL's :type).
  Kinds kinds_of(const Expr& expr, DiagnosticSink& sink);
  std::vector<std::string> global_names() const { return globals_.visible_names(); }
  // Declares a global the caller knows from elsewhere (a notebook's earlier cells).
  void define_global(const std::string& name, Kinds kinds);
  // Tells `observer` (may be null; not owned) of bindings and uses from now on.
  void set_observer(CheckObserver* observer) { observer_ = observer; }

 private:
  struct Context {
    bool in_function = false;
    bool in_loop = false;
  };

  void block(const std::vector<StmtPtr>& body, Scope& scope, Context context);
  void statement(const Stmt& stmt, Scope& scope, Context context);
  void function(const FunctionDecl& decl, Scope& scope);
  void import(const ImportStmt& stmt, Scope& scope);

  Kinds expr(const Expr& expr, Scope& scope);
  Kinds name(const NameExpr& expr, Scope& scope);
  Kinds binary(const BinaryExpr& expr, Scope& scope);
  Kinds call(const CallExpr& expr, Scope& scope);
  Kinds field(const FieldExpr& expr, Scope& scope);
  Kinds builtin_call(const struct Builtin& builtin, const CallExpr& call, Scope& scope,
                     bool has_receiver);
  void script_call(const FunctionDecl& decl, const CallExpr& call);
  void arguments(const CallExpr& call, Scope& scope);
  std::shared_ptr<ModuleInfo> module_of(const Expr& expr, Scope& scope);

  void error(const Span& span, std::string message) { sink_->error(span, std::move(message)); }
  // scope.define, and the observer told of the binding.
  void bind(Scope& scope, const std::string& name, Symbol symbol, const Span& site,
            BindingSite how);
  void note_use(const std::string& name, const Span& at, const Symbol& symbol);

  Scope globals_;
  DiagnosticSink* sink_ = nullptr;
  std::map<std::string, std::shared_ptr<ModuleInfo>> imported_;
  CheckObserver* observer_ = nullptr;
};

}  // namespace perturb::lang
