#include "interpreter/ide/text.h"

#include <algorithm>
#include <cctype>

namespace perturb::lang::ide {
namespace {

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

// Bytes of the UTF-8 sequence that `lead` starts (1 for anything malformed).
size_t sequence_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

}  // namespace

LineIndex::LineIndex(const std::string& text) : text_(text) {
  starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') starts_.push_back(i + 1);
  }
}

size_t LineIndex::line_start(size_t line) const {
  return line < starts_.size() ? starts_[line] : text_.size();
}

size_t LineIndex::line_end(size_t line) const {
  if (line >= starts_.size()) return text_.size();
  size_t end = line + 1 < starts_.size() ? starts_[line + 1] - 1 : text_.size();
  if (end > starts_[line] && text_[end - 1] == '\r') --end;
  return end;
}

size_t LineIndex::offset_of(LspPosition position) const {
  if (position.line < 0) return 0;
  if (static_cast<size_t>(position.line) >= starts_.size()) return text_.size();
  size_t offset = starts_[position.line];
  const size_t end = line_end(position.line);
  int units = 0;
  while (offset < end && units < position.character) {
    const size_t length = std::min(sequence_length(text_[offset]), end - offset);
    units += length == 4 ? 2 : 1;  // a code point above U+FFFF is a surrogate pair
    offset += length;
  }
  return offset;
}

LspPosition LineIndex::position_of(size_t offset) const {
  offset = std::min(offset, text_.size());
  const size_t line =
      std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin() - 1;
  LspPosition position{static_cast<int>(line), 0};
  for (size_t i = starts_[line]; i < offset;) {
    const size_t length = sequence_length(text_[i]);
    position.character += length == 4 ? 2 : 1;
    i += length;
  }
  return position;
}

size_t LineIndex::offset_of_span_start(int line, int column) const {
  if (line < 1) return 0;
  if (static_cast<size_t>(line) > starts_.size()) return text_.size();
  size_t offset = starts_[line - 1];
  const size_t end = line_end(line - 1);
  for (int c = 1; c < column && offset < end; ++c) {
    offset += std::min(sequence_length(text_[offset]), end - offset);
  }
  return offset;
}

LspRange LineIndex::range_of(const Span& span) const {
  const size_t begin = offset_of_span_start(span.line, span.column);
  size_t end = begin;
  const size_t line_stop = line_end(std::max(span.line - 1, 0));
  for (int c = 0; c < std::max(span.length, 1) && end < line_stop; ++c) {
    end += std::min(sequence_length(text_[end]), line_stop - end);
  }
  return range_of(begin, end);
}

size_t LineIndex::code_points_before(size_t offset) const {
  size_t count = 0;
  for (size_t i = 0; i < std::min(offset, text_.size()); ++i) {
    if (!is_continuation(text_[i])) ++count;
  }
  return count;
}

size_t LineIndex::offset_of_code_point(size_t code_points) const {
  size_t offset = 0;
  for (size_t seen = 0; offset < text_.size() && seen < code_points; ++seen) {
    offset += std::min(sequence_length(text_[offset]), text_.size() - offset);
  }
  return offset;
}

bool is_identifier_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::pair<size_t, size_t> identifier_at(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t begin = offset, end = offset;
  while (begin > 0 && is_identifier_char(text[begin - 1])) --begin;
  while (end < text.size() && is_identifier_char(text[end])) ++end;
  while (begin < end && !is_identifier_start(text[begin])) ++begin;  // `2x` is no name
  return {begin, end};
}

std::string blank_out(const std::string& text, size_t begin, size_t end) {
  std::string out = text;
  for (size_t i = std::min(begin, out.size()); i < std::min(end, out.size()); ++i) {
    if (out[i] != '\n') out[i] = ' ';
  }
  return out;
}

size_t skip_string_or_comment(const std::string& text, size_t at, size_t limit) {
  limit = std::min(limit, text.size());
  size_t i = at;
  if (text[i] == '"') {
    for (++i; i < limit && text[i] != '"' && text[i] != '\n'; ++i) {
      if (text[i] == '\\') ++i;
    }
  } else if (text[i] == '#') {
    while (i < limit && text[i] != '\n') ++i;
  }
  return i;
}

size_t block_end(const std::string& text, size_t from) {
  int depth = 0;
  for (size_t i = from; i < text.size(); ++i) {
    i = skip_string_or_comment(text, i, text.size());
    if (i >= text.size()) break;
    const char c = text[i];
    if (c == '{') {
      ++depth;
    } else if (c == '}' && depth > 0 && --depth == 0) {
      return i + 1;
    }
  }
  return text.size();
}

}  // namespace perturb::lang::ide
