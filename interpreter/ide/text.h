#pragma once
// Positions in a document's text, in the three units its users count in: byte offsets (our C++),
// the checker's 1-based line and code-point column (Span), LSP's 0-based line and UTF-16 code
// unit (editors), and Unicode code points (Jupyter's cursor_pos).

#include <cstddef>
#include <string>
#include <vector>

#include "interpreter/source.h"

namespace perturb::lang::ide {

// A 0-based line and a column counted in UTF-16 code units, as the Language Server Protocol
// counts them.
struct LspPosition {
  int line = 0;
  int character = 0;
};

struct LspRange {
  LspPosition start, end;
};

class LineIndex {
 public:
  explicit LineIndex(const std::string& text);

  // The byte offset of an LSP position; positions past a line's end clamp to it, past the last
  // line to the end of the text.
  size_t offset_of(LspPosition position) const;
  LspPosition position_of(size_t offset) const;
  // The byte offset of a 1-based line and code-point column (a Span's start), clamped likewise.
  size_t offset_of_span_start(int line, int column) const;
  // A span as an LSP range: `length` counts code points on the span's line.
  LspRange range_of(const Span& span) const;
  LspRange range_of(size_t begin, size_t end) const {
    return {position_of(begin), position_of(end)};
  }
  // Code points before `offset`, and back (Jupyter counts cursor_pos in code points).
  size_t code_points_before(size_t offset) const;
  size_t offset_of_code_point(size_t code_points) const;
  size_t line_count() const { return starts_.size(); }
  size_t line_start(size_t line) const;  // 0-based line
  size_t line_end(size_t line) const;    // before its '\n' (and '\r')

 private:
  std::string text_;
  std::vector<size_t> starts_;
};

bool is_identifier_start(char c);
bool is_identifier_char(char c);
// The identifier around or just before `offset`: [begin, end) in bytes; begin == end if none.
std::pair<size_t, size_t> identifier_at(const std::string& text, size_t offset);

// The text with every byte of [begin, end) except newlines replaced by a space, so what is left
// keeps its positions (the tooling parses a document with the line being typed left out).
std::string blank_out(const std::string& text, size_t begin, size_t end);

// When text[at] opens a string or a comment, the offset of its last byte (the closing quote, or
// the last byte before the newline), or `limit` when it reaches that far; otherwise `at`. The
// bracket scanners step over both with it.
size_t skip_string_or_comment(const std::string& text, size_t at, size_t limit);

// The offset just past the `}` that closes the first `{` at or after `from`, skipping strings and
// comments; the text's end when there is none.
size_t block_end(const std::string& text, size_t from);

}  // namespace perturb::lang::ide
