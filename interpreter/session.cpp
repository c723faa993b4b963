#include "interpreter/session.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "interpreter/parse.h"

namespace perturb::lang {
namespace {

// The length of the well-formed UTF-8 sequence at text[i] (Unicode's Table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when there is none.
size_t utf8_sequence_at(const std::string& text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) second_high = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) second_high = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 (overlong ASCII) or F5..FF
  }
  if (i + length > text.size() || byte(1) < second_low || byte(1) > second_high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return length;
}

// The position of the first byte that is not well-formed UTF-8, or npos.
size_t invalid_utf8_at(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = utf8_sequence_at(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string::npos;
}

Span span_at_offset(const SourcePtr& source, size_t offset) {
  Span span{source, 1, 1, 1};
  for (size_t i = 0; i < offset; ++i) {
    if (source->text[i] == '\n') {
      ++span.line;
      span.column = 1;
    } else {
      ++span.column;
    }
  }
  return span;
}

int exit_status(ErrorClass error_class) {
  switch (error_class) {
    case ErrorClass::kScript:
      return kExitScript;
    case ErrorClass::kRuntime:
      return kExitRuntime;
    case ErrorClass::kIo:
      return kExitIo;
    case ErrorClass::kInterrupted:
      return kExitInterrupted;
  }
  return kExitRuntime;
}

}  // namespace

Session::Session(RunOptions options, std::ostream& err, bool color)
    : interpreter_(std::move(options)), err_(err), color_(color) {}

int Session::report(const Diagnostic& diagnostic) {
  err_ << render(diagnostic, color_);
  err_.flush();
  return exit_status(diagnostic.error_class);
}

Outcome Session::run(const SourcePtr& source, bool check_only) {
  return run_checked(source, check_only, false);
}

Outcome Session::run_interactive(const SourcePtr& source) {
  return run_checked(source, false, true);
}

Outcome Session::run_checked(const SourcePtr& source, bool check_only, bool interactive) {
  Outcome outcome;
  size_t bad = invalid_utf8_at(source->text);
  if (bad != std::string::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(source->text[bad]));
    Diagnostic d;
    d.span = span_at_offset(source, bad);
    d.message = std::string("this is not a Perturb script: invalid UTF-8 byte ") + byte +
                " (UTF-8 has no overlong forms, surrogates or code points above U+10FFFF)";
    outcome.status = report(d);
    return outcome;
  }
  ParseResult parsed = parse(source);
  if (parsed.errors.has_errors()) {
    if (interactive && parsed.incomplete) {
      outcome.incomplete = true;
      return outcome;
    }
    err_ << parsed.errors.render_all(color_);
    outcome.status = kExitScript;
    return outcome;
  }
  DiagnosticSink check_errors;
  checker_.check(parsed.program, check_errors);
  if (check_errors.has_errors()) {
    err_ << check_errors.render_all(color_);
    outcome.status = kExitScript;
    return outcome;
  }
  if (check_only) return outcome;
  // Closures made by this program refer to its AST: keep every program alive.
  auto program = std::make_shared<Program>(std::move(parsed.program));
  try {
    Value value = interpreter_.run(*program);
    bool last_is_expression =
        !program->statements.empty() && program->statements.back()->kind == StmtKind::kExpr;
    if (last_is_expression) outcome.value = value;
  } catch (const ScriptError& error) {
    outcome.status = report(error.diagnostic);
  } catch (const std::exception& error) {
    // A failure no builtin boundary caught: still a message, never a crash or a C++ backtrace.
    auto* torch_error = dynamic_cast<const c10::Error*>(&error);
    std::string what = torch_error ? torch_error->what_without_backtrace() : error.what();
    Diagnostic d;
    d.span = Span{source, 1, 1, 1};
    d.message = "internal error: " + what.substr(0, what.find('\n'));
    d.error_class = ErrorClass::kRuntime;
    outcome.status = report(d);
  }
  programs_.push_back(program);
  return outcome;
}

std::optional<SourcePtr> read_source(const std::string& path, std::ostream& err, int& status) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << path << ": error: cannot read the script: " << std::strerror(errno) << "\n";
    status = kExitIo;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  status = kExitOk;
  return std::make_shared<SourceFile>(path, text.str());
}

}  // namespace perturb::lang
