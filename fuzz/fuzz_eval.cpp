// libFuzzer target: the evaluator on pure programs. Scripts that check may run, calling only the
// core builtins that touch no tensor, file, environment or clock, for at most one second each
// (RunOptions::deadline): what is left is the language itself (numbers, strings, lists, records,
// closures, recursion, imports of the standard library) and its errors.
#include <chrono>
#include <set>
#include <sstream>

#include "fuzz/checked_program.h"
#include "interpreter/eval.h"
#include "interpreter/large_stack.h"
#include "runtime/core/limits.h"

// Lists, strings and tensors a script builds must fit in 512 MB (fuzz/run.sh gives the process
// 2 GB): a script that doubles a list in a loop gets the located error it would get at the
// machine's memory, not the fuzzer's out-of-memory report.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  perturb::limit_allocations(512e6);
  return 0;
}

namespace {

bool pure(const perturb::lang::Builtin& builtin) {
  static const std::set<std::string> impure = {"env", "clock"};
  return builtin.group == "core" && impure.count(builtin.name) == 0;
}

int run_one(const uint8_t* data, size_t size) {
  using namespace perturb;
  const std::optional<lang::Program> program = fuzz::checked_program(data, size);
  if (!program) return 0;

  std::ostringstream printed;
  lang::RunOptions options;
  options.out = &printed;
  options.may_call = pure;
  options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  options.deadline_reason = "the fuzz target's 1 s";
  lang::Interpreter interpreter(options);
  try {
    interpreter.run(*program);
  } catch (const lang::ScriptError& error) {
    fuzz::require_located(error.diagnostic);
    (void)lang::render(error.diagnostic, false);
  }
  return 0;
}

}  // namespace

// On a large stack, as the command line runs scripts (interpreter/large_stack.h).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return perturb::lang::run_on_large_stack([&] { return run_one(data, size); });
}
