#pragma once
// The whole pipeline in one place: source → parse → check → evaluate. The CLI runs a file
// through it once; the REPL feeds it one input at a time, keeping names between inputs.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/check.h"
#include "interpreter/eval.h"

namespace perturb::lang {

// sysexits codes, as the CLI returns them.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 64;
constexpr int kExitScript = 65;
constexpr int kExitRuntime = 70;
constexpr int kExitIo = 74;
constexpr int kExitInterrupted = 130;  // as a shell reports a process Ctrl-C ended

struct Outcome {
  int status = kExitOk;
  bool incomplete = false;     // the input stopped in the middle (the REPL reads more)
  std::optional<Value> value;  // the last expression's value, when there was one
};

class Session {
 public:
  explicit Session(RunOptions options, std::ostream& err = std::cerr, bool color = false);

  // Parses, checks and (unless check_only) runs a whole source. Diagnostics go to `err`.
  Outcome run(const SourcePtr& source, bool check_only = false);
  // Like run, but an input that ends too early is reported as incomplete, not as an error.
  Outcome run_interactive(const SourcePtr& source);
  Interpreter& interpreter() { return interpreter_; }
  Checker& checker() { return checker_; }

 private:
  Outcome run_checked(const SourcePtr& source, bool check_only, bool interactive);
  int report(const Diagnostic& diagnostic);

  Checker checker_;
  Interpreter interpreter_;
  std::vector<std::shared_ptr<Program>> programs_;
  std::ostream& err_;
  bool color_;
};

// Reads a script file; an unreadable file or non-UTF-8 text is reported (exit 74 / 65).
std::optional<SourcePtr> read_source(const std::string& path, std::ostream& err, int& status);

}  // namespace perturb::lang
