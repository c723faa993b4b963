// libFuzzer target: the lexer and parser (UTF-8 check, ANTLR, the AST builder) on any bytes.
#include "fuzz/fuzz_input.h"
#include "interpreter/large_stack.h"
#include "interpreter/parse.h"

namespace {

int run_one(const uint8_t* data, size_t size) {
  using namespace perturb;
  lang::ParseResult parsed = lang::parse(fuzz::script_from(data, size));
  fuzz::require_located(parsed.errors);
  // Rendering reads the span's line back out of the source: it must hold for every error.
  (void)parsed.errors.render_all(false);
  return 0;
}

}  // namespace

// On a large stack, as the command line runs scripts (interpreter/large_stack.h).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return perturb::lang::run_on_large_stack([&] { return run_one(data, size); });
}
