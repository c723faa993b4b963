// libFuzzer target: the checker (names, kinds, signatures of the builtin table) on every input
// that parses.
#include "fuzz/fuzz_input.h"
#include "interpreter/check.h"
#include "interpreter/large_stack.h"
#include "interpreter/parse.h"

namespace {

int run_one(const uint8_t* data, size_t size) {
  using namespace perturb;
  lang::ParseResult parsed = lang::parse(fuzz::script_from(data, size));
  if (parsed.errors.has_errors()) return 0;
  lang::Checker checker;
  lang::DiagnosticSink errors;
  checker.check(parsed.program, errors);
  fuzz::require_located(errors);
  (void)errors.render_all(false);
  return 0;
}

}  // namespace

// On a large stack, as the command line runs scripts (interpreter/large_stack.h).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return perturb::lang::run_on_large_stack([&] { return run_one(data, size); });
}
