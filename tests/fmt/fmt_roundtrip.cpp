// For each script given: formatting keeps its meaning (the formatted text parses to the same
// tree, compared as s-expressions without positions), keeps every comment in order, and is
// idempotent (formatting the result changes nothing). Prints what failed; exits 1 if anything did.
//
// usage: fmt_roundtrip FILE.ptb...

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "interpreter/format.h"
#include "interpreter/large_stack.h"
#include "interpreter/parse.h"
#include "tests/fmt/ast_dump.h"

namespace perturb::lang {
namespace {

using ast_dump::dump;

std::string comments_of(const ParseResult& parsed) {
  std::string out;
  for (const Comment& c : parsed.comments) {
    std::string text = c.text;
    text.erase(text.find_last_not_of(" \t\f\r") + 1);
    out += text + "\n";
  }
  return out;
}

// Where two texts first differ, as a line number and both lines.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(sa, la));
    const bool more_b = static_cast<bool>(std::getline(sb, lb));
    if (!more_a && !more_b) break;
    if (!more_a) la = "(end)";
    if (!more_b) lb = "(end)";
    if (la != lb) return "line " + std::to_string(line) + ":\n  - " + la + "\n  + " + lb + "\n";
  }
  return "(no line differs)\n";
}

bool check(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cout << path << ": cannot read\n";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto original = std::make_shared<SourceFile>(path, text.str());
  ParseResult before = parse(original);
  FormatResult formatted = format_source(original);
  if (before.errors.has_errors() || formatted.errors.has_errors()) {
    std::cout << path << ": does not parse\n" << formatted.errors.render_all();
    return false;
  }
  auto again = std::make_shared<SourceFile>(path + " (formatted)", formatted.text);
  ParseResult after = parse(again);
  if (after.errors.has_errors()) {
    std::cout << path << ": the formatted text does not parse\n" << after.errors.render_all();
    return false;
  }
  bool ok = true;
  const std::string tree_before = dump(before.program.statements);
  const std::string tree_after = dump(after.program.statements);
  if (tree_before != tree_after) {
    std::cout << path << ": formatting changed the tree, first at "
              << first_difference(tree_before, tree_after);
    ok = false;
  }
  if (comments_of(before) != comments_of(after)) {
    std::cout << path << ": formatting lost or reordered comments, first at "
              << first_difference(comments_of(before), comments_of(after));
    ok = false;
  }
  FormatResult twice = format_source(again);
  if (twice.text != formatted.text) {
    std::cout << path << ": formatting is not idempotent, first at "
              << first_difference(formatted.text, twice.text);
    ok = false;
  }
  return ok;
}

}  // namespace
}  // namespace perturb::lang

int main(int argc, char** argv) {
  return perturb::lang::run_on_large_stack([&] {
    int failures = 0;
    for (int i = 1; i < argc; ++i) failures += !perturb::lang::check(argv[i]);
    std::cout << argc - 1 - failures << " of " << argc - 1 << " scripts keep their meaning, "
              << "their comments, and format idempotently\n";
    return failures == 0 ? 0 : 1;
  });
}
