#pragma once
// The tree-walking evaluator. Runs programs the checker accepted; runtime errors become
// ScriptErrors at the script line, with the script's call stack as a traceback.

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "interpreter/ast.h"
#include "interpreter/builtins/table.h"
#include "interpreter/diagnostics.h"
#include "interpreter/value.h"

namespace perturb::lang {

struct Env {
  explicit Env(std::shared_ptr<Env> parent = nullptr) : parent(std::move(parent)) {}
  std::shared_ptr<Env> parent;
  std::unordered_map<std::string, Value> vars;
  Value* find(const std::string& name);
};
using EnvPtr = std::shared_ptr<Env>;

// A function written in Perturb, with the environment it closes over.
class Closure : public Callable {
 public:
  Closure(std::shared_ptr<FunctionDecl> decl, EnvPtr env)
      : decl(std::move(decl)), env(std::move(env)) {}
  std::string name() const override { return decl->name; }
  std::string describe() const override;
  std::shared_ptr<FunctionDecl> decl;
  EnvPtr env;
};

// A builtin as a value, optionally bound to a receiver (a method: `pgd.run`).
class BuiltinFunction : public Callable {
 public:
  BuiltinFunction(const Builtin* builtin, std::optional<Value> receiver = std::nullopt)
      : builtin(builtin), receiver(std::move(receiver)) {}
  std::string name() const override { return builtin->name; }
  std::string describe() const override { return "<builtin " + signature_text(*builtin) + ">"; }
  const Builtin* builtin;
  std::optional<Value> receiver;
};

struct RunOptions {
  uint64_t seed = 0;
  std::string device = "";  // "" = the runtime's choice (CUDA when LibTorch has it)
  std::ostream* out = &std::cout;
  int max_call_depth = 1000;
  // Builtins a script may call; empty: every one. The pure-program fuzz target allows only those
  // that touch no tensor, file or clock.
  std::function<bool(const Builtin&)> may_call;
  // When the script must stop (the fuzz target's time budget; --timeout goes through
  // runtime/core/limits.h): checked at every loop iteration and function call.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::string deadline_reason = "--timeout";  // how the message names the limit
  // Told the path of each PNG a builtin wrote (show, plot, images), once it is complete: the
  // Jupyter kernel displays it inline. Unset for `perturb run` and the REPL.
  std::function<void(const std::string& path)> on_image_written;
  // A Ctrl-C request (runtime/core/interrupt.h) stops the script at its next loop iteration or
  // call, as a crossed limit does: for the Jupyter kernel, which lives on after an interrupt.
  // `perturb run` exits at a Ctrl-C outside training instead, and lets training honour it.
  bool stop_at_interrupt = false;
};

// Finds the text of `import a.b`: the standard library for std.*, else a .ptb file beside the
// importing script. Shared by the checker and the evaluator.
struct ModuleSource {
  std::string name;  // "std.presets"
  std::string path;  // for diagnostics
  std::string text;
};
std::optional<ModuleSource> find_module(const std::vector<std::string>& path,
                                        const std::string& importer_path);

class Interpreter {
 public:
  explicit Interpreter(RunOptions options = {});
  ~Interpreter();

  // Runs statements in the global environment. Returns the value of the last statement when it
  // is an expression (what the REPL prints), else none.
  Value run(const Program& program);

  // Calls any callable value (closure, builtin, model) with already-evaluated arguments.
  Value call(const Value& callee, std::vector<Value> positional,
             std::vector<std::pair<std::string, Value>> named, const Span& at);

  at::Generator& generator() { return generator_; }
  torch::Device device() const { return device_; }
  std::ostream& out() { return *options_.out; }
  const RunOptions& options() const { return options_; }
  EnvPtr globals() { return globals_; }
  // A builtin wrote the PNG at `path` (see RunOptions::on_image_written).
  void image_written(const std::string& path) const {
    if (options_.on_image_written) options_.on_image_written(path);
  }

  // Converts exceptions from the runtime (perturb::Error, c10::Error, ...) into a ScriptError
  // at `at`, with the current traceback.
  [[noreturn]] void rethrow_at(const Span& at, std::exception_ptr error);
  std::vector<TraceEntry> traceback() const { return frames_; }

 private:
  enum class Flow { kNormal, kReturn, kBreak, kContinue };
  struct Completion {
    Flow flow = Flow::kNormal;
    Value value;
  };

  Completion exec_block(const std::vector<StmtPtr>& body, const EnvPtr& env);
  Completion exec(const Stmt& stmt, const EnvPtr& env);
  void exec_import(const ImportStmt& stmt, const EnvPtr& env);
  void check_declared_kind(const DeclStmt& stmt, Value& value);

  Value eval(const Expr& expr, const EnvPtr& env);
  Value eval_name(const NameExpr& expr, const EnvPtr& env);
  Value eval_unary(const UnaryExpr& expr, const EnvPtr& env);
  Value eval_binary(const BinaryExpr& expr, const EnvPtr& env);
  Value eval_call(const CallExpr& expr, const EnvPtr& env);
  Value eval_field(const FieldExpr& expr, const EnvPtr& env);
  Value eval_index(const IndexExpr& expr, const EnvPtr& env);
  Value eval_grad(const CallExpr& expr, const EnvPtr& env);

  Value make_closure(std::shared_ptr<FunctionDecl> decl, const EnvPtr& env);
  // A located error once the deadline has passed or a resource limit was crossed.
  void check_limits(const Span& at) const;
  Value call_closure(const Closure& closure, std::vector<Value>& positional,
                     std::vector<std::pair<std::string, Value>>& named, const Span& at);
  Value call_builtin(const BuiltinFunction& fn, std::vector<Value>& positional,
                     std::vector<Span> positional_spans,
                     std::vector<std::pair<std::string, Value>>& named,
                     std::vector<Span> named_spans, const Span& at);
  Value call_value(const Value& callee, std::vector<Value>& positional,
                   std::vector<Span> positional_spans,
                   std::vector<std::pair<std::string, Value>>& named, std::vector<Span> named_spans,
                   const Span& at);

  RunOptions options_;
  torch::Device device_;
  at::Generator generator_;
  EnvPtr globals_;
  // Environments closures captured, emptied when the interpreter ends (see ~Interpreter);
  // expired entries are dropped as the list doubles.
  std::vector<std::weak_ptr<Env>> closure_envs_;
  size_t live_closure_envs_ = 0;
  std::vector<TraceEntry> frames_;
  // Programs of imported modules stay alive as long as their closures may run.
  std::vector<std::shared_ptr<Program>> modules_;
  std::unordered_map<std::string, Value> module_cache_;
  // While grad(...) evaluates its first argument, these expressions evaluate to the tensors
  // being differentiated (keyed by their written form, e.g. "x" or "batch.x").
  std::vector<std::pair<std::string, Value>> tracked_;
};

// The written form of a name or field chain ("batch.x"), or "" for other expressions.
std::string path_of(const Expr& expr);

// A namespace of values: a builtin module (`zoo`, whose members are table entries) or an
// imported Perturb module (`presets`, whose members are its top-level bindings).
class ModuleObject : public Object {
 public:
  ModuleObject(std::string name, RecordPtr members)
      : name(std::move(name)), members(std::move(members)) {}
  Kind kind() const override { return Kind::kModule; }
  std::string describe() const override { return "<module " + name + ">"; }
  std::optional<Value> field(const std::string& field_name) const override;
  std::vector<std::string> field_names() const override { return members->keys(); }
  std::string name;
  RecordPtr members;
};

}  // namespace perturb::lang
