#pragma once
// A script's text and where things are in it: every AST node and diagnostic carries a Span.

#include <memory>
#include <string>
#include <vector>

namespace perturb::lang {

struct SourceFile {
  std::string name;  // as the user gave it, e.g. "examples/quickstart.ptb" or "<repl>"
  std::string text;

  SourceFile(std::string name, std::string text);
  // The text of a 1-based line, without its newline; empty when out of range.
  std::string line(int number) const;

 private:
  std::vector<size_t> line_starts_;
};

using SourcePtr = std::shared_ptr<const SourceFile>;

struct Span {
  SourcePtr file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  int length = 1;  // characters to underline on `line`
};

}  // namespace perturb::lang
