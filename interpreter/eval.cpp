#include "interpreter/eval.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/policy.h"
#include "interpreter/kinds.h"
#include "interpreter/operators.h"
#include "interpreter/parse.h"
#include "interpreter/stdlib_sources.h"
#include "runtime/core/device.h"
#include "runtime/core/error.h"
#include "runtime/core/interrupt.h"
#include "runtime/core/random.h"
#include "runtime/distributed/world.h"
#include "runtime/model/frozen_parameters.h"

namespace perturb::lang {

std::optional<Value> ModuleObject::field(const std::string& field_name) const {
  if (const Value* member = members->find(field_name)) return *member;
  return std::nullopt;
}

namespace {

// A file the script writes is written once, by rank 0; the other ranks wait for it, so a file
// saved and then loaded is there for every rank (on a file system they share).
Value on_rank0_only(const BuiltinImpl& impl, CallArgs& args) {
  perturb::World* world = perturb::process_world();
  if (!world) return impl(args);
  Value result = world->rank() == 0 ? impl(args) : Value();
  world->barrier();
  return result;
}

// Pops the traceback frame when a script function returns or throws.
class FrameGuard {
 public:
  FrameGuard(std::vector<TraceEntry>& frames, TraceEntry entry) : frames_(frames) {
    frames_.push_back(std::move(entry));
  }
  ~FrameGuard() { frames_.pop_back(); }

 private:
  std::vector<TraceEntry>& frames_;
};

torch::Device choose_device(const std::string& requested) {
  if (requested.empty()) return default_device();
  return parse_device(requested);
}

RecordPtr builtin_module_members(const std::string& module) {
  auto members = std::make_shared<Record>();
  for (const auto& member : builtins().members(module)) {
    const Builtin* entry = builtins().find(module + "." + member);
    members->set(member, Value(CallablePtr(std::make_shared<BuiltinFunction>(entry))));
  }
  return members;
}

// The c10 message without LibTorch's C++ source locations and backtrace.
std::string clean_torch_message(const std::string& what) {
  std::string first = what.substr(0, what.find('\n'));
  const std::string marker = "Exception raised from";
  auto at = first.find(marker);
  if (at != std::string::npos) first = first.substr(0, at);
  while (!first.empty() && std::isspace(static_cast<unsigned char>(first.back()))) first.pop_back();
  return first;
}

}  // namespace

Value* Env::find(const std::string& name) {
  for (Env* env = this; env; env = env->parent.get()) {
    auto it = env->vars.find(name);
    if (it != env->vars.end()) return &it->second;
  }
  return nullptr;
}

std::string Closure::describe() const {
  std::string text = "<fn " + decl->name + "(";
  for (size_t i = 0; i < decl->params.size(); ++i) {
    text += (i ? ", " : "") + decl->params[i].name;
  }
  return text + ")>";
}

std::string path_of(const Expr& expr) {
  if (expr.kind == ExprKind::kName) return static_cast<const NameExpr&>(expr).name;
  if (expr.kind == ExprKind::kField) {
    const auto& field = static_cast<const FieldExpr&>(expr);
    std::string base = path_of(*field.object);
    return base.empty() ? "" : base + "." + field.field;
  }
  return "";
}

std::optional<ModuleSource> find_module(const std::vector<std::string>& path,
                                        const std::string& importer_path) {
  std::string dotted;
  for (const auto& part : path) dotted += (dotted.empty() ? "" : ".") + part;
  if (path.size() == 2 && path[0] == "std") {
    const char* text = stdlib_source(path[1]);
    if (!text) return std::nullopt;
    return ModuleSource{dotted, "<std>/" + path[1] + ".ptb", text};
  }
  std::string dir = importer_path.substr(0, importer_path.find_last_of('/') + 1);
  std::string file = dir;
  for (size_t i = 0; i < path.size(); ++i) file += (i ? "/" : "") + path[i];
  file += ".ptb";
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return ModuleSource{dotted, file, text.str()};
}

Interpreter::Interpreter(RunOptions options)
    : options_(std::move(options)),
      device_(choose_device(options_.device)),
      generator_(make_generator(options_.seed)),
      globals_(std::make_shared<Env>()) {
  set_default_device(device_);
  torch::manual_seed(options_.seed);
  for (const auto& module : builtin_modules()) {
    globals_->vars[module] =
        Value(ObjectPtr(std::make_shared<ModuleObject>(module, builtin_module_members(module))));
  }
}

// A closure stored in the environment it closes over (or in a module's record the globals hold)
// is a reference cycle shared_ptr never frees: cutting every environment a closure captured off
// its values and its parent, when the interpreter ends, frees them all (LeakSanitizer found these
// through the fuzz_eval target).
Interpreter::~Interpreter() {
  for (const auto& captured : closure_envs_) {
    if (auto env = captured.lock()) {
      env->vars.clear();
      env->parent.reset();
    }
  }
  globals_->vars.clear();
}

Value Interpreter::make_closure(std::shared_ptr<FunctionDecl> decl, const EnvPtr& env) {
  if (closure_envs_.size() >= 2 * live_closure_envs_ + 64) {
    closure_envs_.erase(std::remove_if(closure_envs_.begin(), closure_envs_.end(),
                                       [](const std::weak_ptr<Env>& e) { return e.expired(); }),
                        closure_envs_.end());
    live_closure_envs_ = closure_envs_.size();
  }
  closure_envs_.push_back(env);
  return Value(CallablePtr(std::make_shared<Closure>(std::move(decl), env)));
}

Value Interpreter::run(const Program& program) {
  // Tensors built at the top level need no autograd history; grad(...) turns it on.
  torch::NoGradGuard no_grad;
  Completion completion = exec_block(program.statements, globals_);
  if (completion.flow != Flow::kNormal) return Value();
  return completion.value;
}

Interpreter::Completion Interpreter::exec_block(const std::vector<StmtPtr>& body,
                                                const EnvPtr& env) {
  // Functions are visible in their whole block, so they can call each other in any order.
  for (const auto& stmt : body) {
    if (stmt->kind == StmtKind::kFn) {
      const auto& fn = static_cast<const FnStmt&>(*stmt);
      env->vars[fn.decl->name] = make_closure(fn.decl, env);
    }
  }
  Completion last;
  for (const auto& stmt : body) {
    last = exec(*stmt, env);
    if (last.flow != Flow::kNormal) return last;
  }
  return last;
}

Interpreter::Completion Interpreter::exec(const Stmt& stmt, const EnvPtr& env) {
  switch (stmt.kind) {
    case StmtKind::kLet: {
      const auto& let = static_cast<const LetStmt&>(stmt);
      env->vars[let.name] = eval(*let.value, env);
      return {};
    }
    case StmtKind::kDecl: {
      const auto& decl = static_cast<const DeclStmt&>(stmt);
      Value value = eval(*decl.value, env);
      check_declared_kind(decl, value);
      env->vars[decl.name] = std::move(value);
      return {};
    }
    case StmtKind::kAssign: {
      const auto& assign = static_cast<const AssignStmt&>(stmt);
      Value value = eval(*assign.value, env);
      Value* slot = env->find(assign.name);
      if (!slot)
        throw_runtime_error(stmt.span, "cannot assign to '" + assign.name +
                                           "': it is not declared; use 'let " + assign.name +
                                           " = ...'");
      *slot = std::move(value);
      return {};
    }
    case StmtKind::kFn:
      return {};  // bound when its block started
    case StmtKind::kImport:
      exec_import(static_cast<const ImportStmt&>(stmt), env);
      return {};
    case StmtKind::kReturn: {
      const auto& ret = static_cast<const ReturnStmt&>(stmt);
      return {Flow::kReturn, ret.value ? eval(*ret.value, env) : Value()};
    }
    case StmtKind::kBreak:
      return {Flow::kBreak, Value()};
    case StmtKind::kContinue:
      return {Flow::kContinue, Value()};
    case StmtKind::kFor: {
      const auto& loop = static_cast<const ForStmt&>(stmt);
      Value iterable = eval(*loop.iterable, env);
      std::vector<Value> items = iterate(iterable, loop.iterable->span);
      for (auto& item : items) {
        check_limits(loop.iterable->span);
        auto body_env = std::make_shared<Env>(env);
        body_env->vars[loop.var] = std::move(item);
        Completion c = exec_block(loop.body, body_env);
        if (c.flow == Flow::kBreak) break;
        if (c.flow == Flow::kReturn) return c;
      }
      return {};
    }
    case StmtKind::kWhile: {
      const auto& loop = static_cast<const WhileStmt&>(stmt);
      while (condition_value(eval(*loop.condition, env), loop.condition->span)) {
        check_limits(loop.condition->span);
        Completion c = exec_block(loop.body, std::make_shared<Env>(env));
        if (c.flow == Flow::kBreak) break;
        if (c.flow == Flow::kReturn) return c;
      }
      return {};
    }
    case StmtKind::kIf: {
      const auto& branch = static_cast<const IfStmt&>(stmt);
      bool taken = condition_value(eval(*branch.condition, env), branch.condition->span);
      const auto& body = taken ? branch.then_body : branch.else_body;
      return exec_block(body, std::make_shared<Env>(env));
    }
    case StmtKind::kExpr: {
      const auto& e = static_cast<const ExprStmt&>(stmt);
      return {Flow::kNormal, eval(*e.expr, env)};
    }
  }
  return {};
}

void Interpreter::check_declared_kind(const DeclStmt& decl, Value& value) {
  static const Kind kDeclared[] = {Kind::kThreat, Kind::kAttack, Kind::kPolicy, Kind::kSchedule};
  Kind expected = kDeclared[static_cast<int>(decl.decl)];
  // `policy p = threat` makes the threat a random augmentation, sample(threat).
  if (expected == Kind::kPolicy && value.kind() == Kind::kThreat) {
    value = policy_value(as_policy(value));
  }
  if (value.kind() != expected) {
    throw_runtime_error(decl.value->span, std::string("declared ") + decl_kind_text(decl.decl) +
                                              ", got " + kind_name(value.kind()));
  }
  if (const auto& declared_as = descriptor_of(value.kind()).declared_as) {
    value = declared_as(value, decl.name);
  }
}

void Interpreter::exec_import(const ImportStmt& stmt, const EnvPtr& env) {
  std::string key;
  for (const auto& part : stmt.path) key += (key.empty() ? "" : ".") + part;
  auto cached = module_cache_.find(key);
  if (cached != module_cache_.end()) {
    env->vars[stmt.alias] = cached->second;
    return;
  }
  auto source = find_module(stmt.path, stmt.span.file ? stmt.span.file->name : "");
  if (!source) throw_runtime_error(stmt.span, "no module named '" + key + "'", ErrorClass::kIo);
  auto file = std::make_shared<SourceFile>(source->path, source->text);
  ParseResult parsed = parse(file);
  if (parsed.errors.has_errors()) throw ScriptError(parsed.errors.diagnostics().front());
  auto program = std::make_shared<Program>(std::move(parsed.program));
  modules_.push_back(program);
  auto module_env = std::make_shared<Env>(globals_);
  {
    FrameGuard frame(frames_, {"import " + key, stmt.span});
    Completion c = exec_block(program->statements, module_env);
    (void)c;
  }
  auto members = std::make_shared<Record>();
  for (const auto& [name, value] : module_env->vars) members->set(name, value);
  std::sort(members->fields.begin(), members->fields.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Value module(ObjectPtr(std::make_shared<ModuleObject>(key, members)));
  module_cache_[key] = module;
  env->vars[stmt.alias] = module;
}

Value Interpreter::eval(const Expr& expr, const EnvPtr& env) {
  switch (expr.kind) {
    case ExprKind::kNumber:
      return Value(static_cast<const NumberExpr&>(expr).value);
    case ExprKind::kString:
      return Value(static_cast<const StringExpr&>(expr).value);
    case ExprKind::kBool:
      return Value(static_cast<const BoolExpr&>(expr).value);
    case ExprKind::kNone:
      return Value();
    case ExprKind::kName:
      return eval_name(static_cast<const NameExpr&>(expr), env);
    case ExprKind::kList: {
      std::vector<Value> items;
      for (const auto& item : static_cast<const ListExpr&>(expr).items)
        items.push_back(eval(*item, env));
      return make_list(std::move(items));
    }
    case ExprKind::kRecord: {
      auto record = std::make_shared<Record>();
      for (const auto& field : static_cast<const RecordExpr&>(expr).fields) {
        record->set(field.key, eval(*field.value, env));
      }
      return Value(record);
    }
    case ExprKind::kLambda:
      return make_closure(static_cast<const LambdaExpr&>(expr).decl, env);
    case ExprKind::kUnary:
      return eval_unary(static_cast<const UnaryExpr&>(expr), env);
    case ExprKind::kBinary:
      return eval_binary(static_cast<const BinaryExpr&>(expr), env);
    case ExprKind::kCall:
      return eval_call(static_cast<const CallExpr&>(expr), env);
    case ExprKind::kField:
      return eval_field(static_cast<const FieldExpr&>(expr), env);
    case ExprKind::kIndex:
      return eval_index(static_cast<const IndexExpr&>(expr), env);
  }
  return Value();
}

Value Interpreter::eval_name(const NameExpr& expr, const EnvPtr& env) {
  for (auto it = tracked_.rbegin(); it != tracked_.rend(); ++it) {
    if (it->first == expr.name) return it->second;
  }
  if (Value* value = env->find(expr.name)) return *value;
  if (const Builtin* builtin = builtins().find(expr.name)) {
    return Value(CallablePtr(std::make_shared<BuiltinFunction>(builtin)));
  }
  throw_runtime_error(expr.span, "unknown name '" + expr.name + "'");
}

Value Interpreter::eval_unary(const UnaryExpr& expr, const EnvPtr& env) {
  Value operand = eval(*expr.operand, env);
  try {
    return apply_unary(expr.op, operand, expr.span);
  } catch (const ScriptError&) {
    throw;
  } catch (...) {
    rethrow_at(expr.span, std::current_exception());
  }
}

Value Interpreter::eval_binary(const BinaryExpr& expr, const EnvPtr& env) {
  if (expr.op == BinaryOp::kAnd || expr.op == BinaryOp::kOr) {
    bool left = condition_value(eval(*expr.left, env), expr.left->span);
    if (expr.op == BinaryOp::kAnd && !left) return Value(false);
    if (expr.op == BinaryOp::kOr && left) return Value(true);
    return Value(condition_value(eval(*expr.right, env), expr.right->span));
  }
  Value left = eval(*expr.left, env);
  Value right = eval(*expr.right, env);
  try {
    return apply_binary(expr.op, left, right, expr.span);
  } catch (const ScriptError&) {
    throw;
  } catch (...) {
    rethrow_at(expr.span, std::current_exception());
  }
}

Value Interpreter::eval_call(const CallExpr& expr, const EnvPtr& env) {
  if (expr.callee->kind == ExprKind::kName) {
    const auto& name = static_cast<const NameExpr&>(*expr.callee).name;
    if (name == "grad" && !env->find(name)) return eval_grad(expr, env);
  }
  Value callee = eval(*expr.callee, env);
  std::vector<Value> positional;
  std::vector<Span> positional_spans;
  std::vector<std::pair<std::string, Value>> named;
  std::vector<Span> named_spans;
  for (const auto& arg : expr.args) {
    Value value = eval(*arg.value, env);
    if (arg.name.empty()) {
      positional.push_back(std::move(value));
      positional_spans.push_back(arg.value->span);
    } else {
      named.emplace_back(arg.name, std::move(value));
      named_spans.push_back(arg.span);
    }
  }
  return call_value(callee, positional, positional_spans, named, named_spans, expr.span);
}

Value Interpreter::call(const Value& callee, std::vector<Value> positional,
                        std::vector<std::pair<std::string, Value>> named, const Span& at) {
  std::vector<Span> positional_spans(positional.size(), at);
  std::vector<Span> named_spans(named.size(), at);
  return call_value(callee, positional, positional_spans, named, named_spans, at);
}

Value Interpreter::call_value(const Value& callee, std::vector<Value>& positional,
                              std::vector<Span> positional_spans,
                              std::vector<std::pair<std::string, Value>>& named,
                              std::vector<Span> named_spans, const Span& at) {
  if (callee.is<CallablePtr>()) {
    const auto& callable = callee.as<CallablePtr>();
    if (auto closure = std::dynamic_pointer_cast<Closure>(callable)) {
      return call_closure(*closure, positional, named, at);
    }
    auto builtin = std::dynamic_pointer_cast<BuiltinFunction>(callable);
    return call_builtin(*builtin, positional, std::move(positional_spans), named,
                        std::move(named_spans), at);
  }
  if (auto model = callee.object<ModelObject>()) {
    if (positional.size() != 1 || !named.empty()) {
      throw_runtime_error(at, "a model is called with one input tensor: model(x)");
    }
    torch::Tensor x = to_tensor(positional[0], positional_spans[0], "the model's input");
    // A C×H×W tensor is one image, as torch's convolutions read unbatched input: net(d.x[0]).
    const bool one_image = x.dim() == 3;
    // Under grad(loss, x) only x is differentiated: weights that require grad would have their
    // gradients computed for nothing (see FrozenParameters).
    std::optional<perturb::FrozenParameters> weights;
    if (!tracked_.empty()) weights.emplace(*model->model);
    try {
      torch::Tensor out =
          model->model->forward((one_image ? x.unsqueeze(0) : x).to(model->model->device()));
      return Value(one_image ? out.squeeze(0) : out);
    } catch (...) {
      rethrow_at(at, std::current_exception());
    }
  }
  throw_runtime_error(at, "cannot call " + kind_with_article(callee.kind()) +
                              "; only functions and models can be called");
}

void Interpreter::check_limits(const Span& at) const {
  if (options_.deadline && std::chrono::steady_clock::now() > *options_.deadline) {
    throw_runtime_error(at,
                        "the script ran past its time limit (" + options_.deadline_reason + ")");
  }
  if (!interrupt_requested()) return;
  if (limit_crossed()) {
    throw_runtime_error(at, "the script ran past its limit (" + interrupt_name() + ")");
  }
  if (options_.stop_at_interrupt)
    throw_runtime_error(at, "interrupted by " + interrupt_name(), ErrorClass::kInterrupted);
}

Value Interpreter::call_closure(const Closure& closure, std::vector<Value>& positional,
                                std::vector<std::pair<std::string, Value>>& named, const Span& at) {
  const FunctionDecl& decl = *closure.decl;
  check_limits(at);
  if (static_cast<int>(frames_.size()) >= options_.max_call_depth) {
    throw_runtime_error(at, "too many nested calls (more than " +
                                std::to_string(options_.max_call_depth) +
                                "): is a recursion missing its base case?");
  }
  FrameGuard frame(frames_, {decl.name, at});
  if (positional.size() > decl.params.size()) {
    throw_runtime_error(at, decl.name + " takes " + std::to_string(decl.params.size()) +
                                " argument" + (decl.params.size() == 1 ? "" : "s") + ", got " +
                                std::to_string(positional.size()));
  }
  auto env = std::make_shared<Env>(closure.env);
  std::vector<bool> bound(decl.params.size(), false);
  for (size_t i = 0; i < positional.size(); ++i) {
    env->vars[decl.params[i].name] = std::move(positional[i]);
    bound[i] = true;
  }
  for (auto& [name, value] : named) {
    size_t i = 0;
    while (i < decl.params.size() && decl.params[i].name != name) ++i;
    if (i == decl.params.size()) {
      std::vector<std::string> names;
      for (const auto& p : decl.params) names.push_back(p.name);
      std::string hint = closest_match(name, names);
      throw_runtime_error(at, decl.name + " has no parameter '" + name + "'" +
                                  (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    }
    if (bound[i]) throw_runtime_error(at, decl.name + " got '" + name + "' twice");
    env->vars[name] = std::move(value);
    bound[i] = true;
  }
  for (size_t i = 0; i < decl.params.size(); ++i) {
    if (bound[i]) continue;
    if (!decl.params[i].default_value) {
      throw_runtime_error(at, decl.name + " is missing its argument '" + decl.params[i].name + "'");
    }
    env->vars[decl.params[i].name] = eval(*decl.params[i].default_value, env);
  }
  try {
    return exec_block(decl.body, env).value;
  } catch (ScriptError& error) {
    // The innermost function call sees the whole stack: record it once, on the way out.
    if (error.diagnostic.traceback.empty()) error.diagnostic.traceback = frames_;
    throw;
  }
}

Value Interpreter::call_builtin(const BuiltinFunction& fn, std::vector<Value>& positional,
                                std::vector<Span> positional_spans,
                                std::vector<std::pair<std::string, Value>>& named,
                                std::vector<Span> named_spans, const Span& at) {
  const Builtin& builtin = *fn.builtin;
  if (fn.receiver) {
    positional.insert(positional.begin(), *fn.receiver);
    positional_spans.insert(positional_spans.begin(), at);
  }
  std::vector<std::string> names;
  for (const auto& [name, value] : named) names.push_back(name);
  Binding binding = bind_arguments(builtin, positional.size(), names, fn.receiver.has_value());
  if (!binding.error.empty()) {
    const Span& where = binding.error_arg < 0 ? at
                        : binding.error_arg < static_cast<int>(positional.size())
                            ? positional_spans[binding.error_arg]
                            : named_spans[binding.error_arg - positional.size()];
    throw_runtime_error(where, binding.error);
  }
  CallArgs args{*this, builtin, at, {}, {}, {}, {}};
  const auto& params = builtin.signature.params;
  args.values.resize(params.size());
  args.spans.assign(params.size(), at);
  std::vector<bool> given_by_name(params.size(), false);
  for (size_t i = 0; i < positional.size(); ++i) {
    if (binding.slot[i] < 0) {
      args.rest.push_back(positional[i]);
      continue;
    }
    args.values[binding.slot[i]] = positional[i];
    args.spans[binding.slot[i]] = positional_spans[i];
  }
  for (size_t j = 0; j < named.size(); ++j) {
    int slot = binding.slot[positional.size() + j];
    if (slot < 0) {
      args.named_rest.push_back(named[j]);
      continue;
    }
    args.values[slot] = named[j].second;
    args.spans[slot] = named_spans[j];
    given_by_name[slot] = true;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (!args.values[i] && params[i].default_value) args.values[i] = params[i].default_value;
    if (args.values[i] && !args.values[i]->is_none() &&
        !has_kind(params[i].kinds, args.values[i]->kind())) {
      throw_runtime_error(args.spans[i],
                          kind_mismatch_message(builtin, i, args.values[i]->kind(), "",
                                                fn.receiver.has_value(), given_by_name[i]));
    }
  }
  args.check_value_rules();
  if (options_.may_call && !options_.may_call(builtin)) {
    throw_runtime_error(at, display_name(builtin) + " may not be called here");
  }
  if (!builtin.planned.empty()) {
    throw_runtime_error(at, display_name(builtin) + " is not available in this build yet (" +
                                builtin.planned + ")");
  }
  try {
    return builtin.writes_files ? on_rank0_only(builtin.impl, args) : builtin.impl(args);
  } catch (ScriptError& error) {
    if (error.diagnostic.traceback.empty()) error.diagnostic.traceback = frames_;
    throw;
  } catch (...) {
    rethrow_at(at, std::current_exception());
  }
}

Value Interpreter::eval_field(const FieldExpr& expr, const EnvPtr& env) {
  if (!tracked_.empty()) {
    std::string path = path_of(expr);
    for (auto it = tracked_.rbegin(); it != tracked_.rend(); ++it) {
      if (!path.empty() && it->first == path) return it->second;
    }
  }
  Value object = eval(*expr.object, env);
  // A field can do work (a streaming dataset's .x decodes it) and fail like a call.
  try {
    return field_of(object, expr.field, expr.field_span);
  } catch (const ScriptError&) {
    throw;
  } catch (...) {
    rethrow_at(expr.field_span, std::current_exception());
  }
}

Value Interpreter::eval_index(const IndexExpr& expr, const EnvPtr& env) {
  Value object = eval(*expr.object, env);
  std::vector<IndexValue> subscripts;
  for (const auto& sub : expr.subscripts) {
    IndexValue index;
    index.is_slice = sub.is_slice;
    if (sub.index) index.index = eval(*sub.index, env);
    if (sub.lo) index.lo = eval(*sub.lo, env);
    if (sub.hi) index.hi = eval(*sub.hi, env);
    subscripts.push_back(std::move(index));
  }
  try {
    return index_value(object, subscripts, expr.span);
  } catch (const ScriptError&) {
    throw;
  } catch (...) {
    rethrow_at(expr.span, std::current_exception());
  }
}

// grad(loss, x): evaluates `loss` again with x tracked by autograd, so a loss written after x
// was made still differentiates with respect to it. x is a name or a field path.
Value Interpreter::eval_grad(const CallExpr& expr, const EnvPtr& env) {
  if (expr.args.size() != 2 || !expr.args[0].name.empty() || !expr.args[1].name.empty()) {
    throw_runtime_error(expr.span, "grad takes two arguments: grad(loss, x)");
  }
  const Expr& loss_expr = *expr.args[0].value;
  const Expr& wrt_expr = *expr.args[1].value;
  std::string path = path_of(wrt_expr);
  if (path.empty()) {
    throw_runtime_error(
        wrt_expr.span, "grad differentiates with respect to a name or a field (like x or batch.x)");
  }
  torch::Tensor x = to_tensor(eval(wrt_expr, env), wrt_expr.span, "grad's second argument");
  if (!x.is_floating_point()) {
    throw_runtime_error(wrt_expr.span,
                        "grad needs a floating-point tensor to differentiate with respect to");
  }
  torch::Tensor tracked = x.detach().requires_grad_(true);
  tracked_.emplace_back(path, Value(tracked));
  torch::Tensor loss;
  try {
    torch::AutoGradMode enable(true);
    Value value = eval(loss_expr, env);
    loss = to_tensor(value, loss_expr.span, "the loss");
  } catch (...) {
    tracked_.pop_back();
    throw;
  }
  tracked_.pop_back();
  if (loss.numel() != 1) {
    throw_runtime_error(
        loss_expr.span,
        "grad needs a single number as the loss (use mean or sum), got a tensor of shape " +
            shape_string(loss));
  }
  if (!loss.requires_grad()) {
    throw_runtime_error(loss_expr.span, "the loss does not depend on '" + path + "'");
  }
  std::vector<torch::Tensor> grads;
  try {
    torch::AutoGradMode enable(true);
    grads = torch::autograd::grad({loss.sum()}, {tracked}, {}, false, false, true);
  } catch (...) {
    rethrow_at(expr.span, std::current_exception());
  }
  if (!grads[0].defined()) {
    throw_runtime_error(loss_expr.span, "the loss does not depend on '" + path + "'");
  }
  return Value(grads[0].detach());
}

void Interpreter::rethrow_at(const Span& at, std::exception_ptr error) {
  Diagnostic d;
  d.span = at;
  d.traceback = frames_;
  d.error_class = ErrorClass::kRuntime;
  try {
    std::rethrow_exception(error);
  } catch (ScriptError& e) {
    throw;
  } catch (const perturb::IoError& e) {
    d.message = e.what();
    d.error_class = ErrorClass::kIo;
  } catch (const perturb::Interrupted& e) {
    d.message = e.what();
    d.error_class = ErrorClass::kInterrupted;
  } catch (const perturb::Error& e) {
    d.message = e.what();
  } catch (const c10::Error& e) {
    d.message = clean_torch_message(e.what_without_backtrace());
  } catch (const std::exception& e) {
    d.message = e.what();
  }
  throw ScriptError(std::move(d));
}

}  // namespace perturb::lang
