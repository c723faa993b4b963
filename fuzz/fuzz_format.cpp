// libFuzzer target: perturb fmt on any input that parses. The formatted text must parse to the
// same tree (tests/fmt/ast_dump.h), and formatting it again must change nothing.
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_input.h"
#include "interpreter/format.h"
#include "interpreter/large_stack.h"
#include "interpreter/parse.h"
#include "tests/fmt/ast_dump.h"

namespace {

using namespace perturb;

[[noreturn]] void finding(const char* what, const std::string& text) {
  std::fprintf(stderr, "fuzz_format: %s; the formatted text:\n%s\n", what, text.c_str());
  std::abort();
}

int run_one(const uint8_t* data, size_t size) {
  const lang::SourcePtr source = fuzz::script_from(data, size);
  lang::ParseResult before = lang::parse(source);
  lang::FormatResult formatted = lang::format_source(source);
  if (before.errors.has_errors()) {
    if (!formatted.errors.has_errors() || !formatted.text.empty())
      finding("formatted a script that does not parse", formatted.text);
    return 0;
  }
  auto again = std::make_shared<lang::SourceFile>("formatted.ptb", formatted.text);
  lang::ParseResult after = lang::parse(again);
  if (after.errors.has_errors()) finding("the formatted text does not parse", formatted.text);
  if (lang::ast_dump::dump(before.program.statements) !=
      lang::ast_dump::dump(after.program.statements)) {
    finding("formatting changed the tree", formatted.text);
  }
  if (lang::format_source(again).text != formatted.text)
    finding("formatting is not idempotent", formatted.text);
  return 0;
}

}  // namespace

// On a large stack, as the command line runs perturb fmt.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return perturb::lang::run_on_large_stack([&] { return run_one(data, size); });
}
