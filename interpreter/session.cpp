#include "interpreter/session.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "interpreter/parse.h"
#include "runtime/core/interrupt.h"

namespace perturb::lang {
namespace {

int exit_status(ErrorClass error_class) {
  switch (error_class) {
    case ErrorClass::kScript:
      return kExitScript;
    case ErrorClass::kRuntime:
      return kExitRuntime;
    case ErrorClass::kIo:
      return kExitIo;
    case ErrorClass::kInterrupted:
      // A training run stopped by --timeout or --max-memory failed; by a signal, was interrupted.
      return perturb::limit_crossed() ? kExitRuntime : kExitInterrupted;
  }
  return kExitRuntime;
}

}  // namespace

Session::Session(RunOptions options, std::ostream& err, bool color)
    : interpreter_(std::move(options)), err_(err), color_(color) {}

int Session::report(const Diagnostic& diagnostic) {
  err_ << render(diagnostic, color_);
  err_.flush();
  return exit_status(diagnostic.error_class);
}

Outcome Session::run(const SourcePtr& source, bool check_only) {
  return run_checked(source, check_only, false);
}

Outcome Session::run_interactive(const SourcePtr& source) {
  return run_checked(source, false, true);
}

Outcome Session::run_checked(const SourcePtr& source, bool check_only, bool interactive) {
  Outcome outcome;
  ParseResult parsed = parse(source);
  if (parsed.errors.has_errors()) {
    if (interactive && parsed.incomplete) {
      outcome.incomplete = true;
      return outcome;
    }
    err_ << parsed.errors.render_all(color_);
    outcome.status = kExitScript;
    return outcome;
  }
  DiagnosticSink check_errors;
  checker_.check(parsed.program, check_errors);
  if (check_errors.has_errors()) {
    err_ << check_errors.render_all(color_);
    outcome.status = kExitScript;
    return outcome;
  }
  if (check_only) return outcome;
  // Closures made by this program refer to its AST: keep every program alive.
  auto program = std::make_shared<Program>(std::move(parsed.program));
  try {
    Value value = interpreter_.run(*program);
    bool last_is_expression =
        !program->statements.empty() && program->statements.back()->kind == StmtKind::kExpr;
    if (last_is_expression) outcome.value = value;
  } catch (const ScriptError& error) {
    outcome.status = report(error.diagnostic);
  } catch (const std::exception& error) {
    // A failure no builtin boundary caught: still a message, never a crash or a C++ backtrace.
    auto* torch_error = dynamic_cast<const c10::Error*>(&error);
    std::string what = torch_error ? torch_error->what_without_backtrace() : error.what();
    Diagnostic d;
    d.span = Span{source, 1, 1, 1};
    d.message = "internal error: " + what.substr(0, what.find('\n'));
    d.error_class = ErrorClass::kRuntime;
    outcome.status = report(d);
  }
  programs_.push_back(program);
  return outcome;
}

std::optional<SourcePtr> read_source(const std::string& path, std::ostream& err, int& status) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << path << ": error: cannot read the script: " << std::strerror(errno) << "\n";
    status = kExitIo;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  status = kExitOk;
  return std::make_shared<SourceFile>(path, text.str());
}

}  // namespace perturb::lang
