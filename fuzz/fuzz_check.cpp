// libFuzzer target: the checker (names, kinds, signatures of the builtin table) on every input
// that parses.
#include "fuzz/checked_program.h"
#include "interpreter/large_stack.h"

namespace {

int run_one(const uint8_t* data, size_t size) {
  (void)perturb::fuzz::checked_program(data, size);
  return 0;
}

}  // namespace

// On a large stack, as the command line runs scripts (interpreter/large_stack.h).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return perturb::lang::run_on_large_stack([&] { return run_one(data, size); });
}
