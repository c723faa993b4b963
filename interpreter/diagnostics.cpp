#include "interpreter/diagnostics.h"

#include <algorithm>
#include <sstream>

namespace perturb::lang {
namespace {

std::string location(const Span& span) {
  std::ostringstream out;
  out << (span.file ? span.file->name : "<unknown>") << ":" << span.line << ":" << span.column;
  return out.str();
}

// The source line with tabs kept (so the caret lines up) and a caret line under the span.
void append_excerpt(std::ostringstream& out, const Span& span) {
  if (!span.file || span.line < 1) return;
  std::string text = span.file->line(span.line);
  out << "  " << text << "\n  ";
  for (int i = 0; i + 1 < span.column && i < static_cast<int>(text.size()); ++i) {
    out << (text[i] == '\t' ? '\t' : ' ');
  }
  int width = std::max(1, std::min(span.length, static_cast<int>(text.size()) - span.column + 1));
  out << '^' << std::string(std::max(0, width - 1), '~') << "\n";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string render(const Diagnostic& d, bool color) {
  const char* red = color ? "\033[1;31m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  std::ostringstream out;
  out << bold << location(d.span) << ": " << reset << red << "error: " << reset << d.message
      << "\n";
  append_excerpt(out, d.span);
  for (const auto& note : d.notes) out << "  note: " << note << "\n";
  if (!d.traceback.empty()) {
    // Deep recursion would print thousands of identical lines: keep both ends.
    constexpr size_t kShownAtEachEnd = 5;
    const auto& frames = d.traceback;
    out << "traceback (most recent call last):\n";
    for (size_t i = 0; i < frames.size(); ++i) {
      if (frames.size() > 3 * kShownAtEachEnd && i == kShownAtEachEnd) {
        out << "  ... " << frames.size() - 2 * kShownAtEachEnd << " more calls ...\n";
        i = frames.size() - kShownAtEachEnd;
      }
      out << "  " << location(frames[i].call) << ": in " << frames[i].function << "\n";
    }
  }
  return out.str();
}

void DiagnosticSink::error(const Span& span, std::string message, std::vector<std::string> notes) {
  Diagnostic d;
  d.span = span;
  d.message = std::move(message);
  d.notes = std::move(notes);
  diagnostics_.push_back(std::move(d));
}

std::string DiagnosticSink::render_all(bool color) const {
  std::string all;
  for (const auto& d : diagnostics_) all += render(d, color);
  return all;
}

void throw_runtime_error(const Span& span, const std::string& message, ErrorClass error_class) {
  Diagnostic d;
  d.span = span;
  d.message = message;
  d.error_class = error_class;
  throw ScriptError(std::move(d));
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  // Short names are easy to confuse with anything: demand a closer match the shorter they are.
  size_t allowed = word.size() <= 3 ? 1 : word.size() <= 6 ? 2 : 3;
  std::string best;
  size_t best_distance = allowed + 1;
  for (const auto& candidate : candidates) {
    if (candidate == word) continue;
    size_t distance = edit_distance(word, candidate);
    if (distance < best_distance && distance < std::max(word.size(), candidate.size())) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace perturb::lang
