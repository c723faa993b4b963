#include "interpreter/kernel/interpreter.h"

#include <xeus/xhelper.hpp>

#include <regex>
#include <vector>

#include "interpreter/kernel/complete.h"
#include "interpreter/kernel/display.h"
#include "interpreter/parse.h"
#include "runtime/core/interrupt.h"
#include "runtime/core/progress.h"

namespace perturb::lang {
namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kProtocolVersion = "5.3";

// Jupyter counts cursor positions in Unicode code points; the code is UTF-8 bytes.
size_t byte_offset(const std::string& text, int code_points) {
  size_t at = 0;
  for (int seen = 0; at < text.size(); ++at) {
    const bool starts_a_code_point = (static_cast<unsigned char>(text[at]) & 0xC0) != 0x80;
    if (starts_a_code_point && seen++ == code_points) break;
  }
  return at;
}

int code_point_offset(const std::string& text, size_t bytes) {
  int count = 0;
  for (size_t i = 0; i < bytes && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string without_ansi(const std::string& text) {
  static const std::regex kEscape("\x1b\\[[0-9;]*m");
  return std::regex_replace(text, kEscape, "");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The name Jupyter shows above the traceback, after the CLI's exit status (session.h).
std::string error_name(int status) {
  switch (status) {
    case kExitScript:
      return "ScriptError";
    case kExitIo:
      return "IOError";
    case kExitInterrupted:
      return "Interrupted";
    default:
      return "RuntimeError";
  }
}

}  // namespace

KernelInterpreter::KernelInterpreter(RunOptions options)
    : stdout_([this](const std::string& text) {
        if (!silent_) publish_stream("stdout", text);
      }),
      session_(with_outputs(std::move(options)), diagnostics_, true) {
  // Training's progress bars: redrawn in place in the notebook, about once a second.
  Progress::set_sink([this](const std::string& text) { publish_progress(text); });
}

void KernelInterpreter::publish_progress(const std::string& text) {
  if (silent_) return;
  pending_progress_ = text;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_progress_ < std::chrono::seconds(1)) return;
  last_progress_ = now;
  flush_progress();
}

void KernelInterpreter::flush_progress() {
  if (pending_progress_.empty()) return;
  publish_stream("stderr", pending_progress_);
  pending_progress_.clear();
}

KernelInterpreter::~KernelInterpreter() {
  Progress::set_sink(nullptr);
}

RunOptions KernelInterpreter::with_outputs(RunOptions options) {
  options.out = &stdout_;
  options.on_image_written = [this](const std::string& path) { show_image_file(path); };
  options.stop_at_interrupt = true;
  return options;
}

void KernelInterpreter::configure_impl() {}

void KernelInterpreter::show_image_file(const std::string& path) {
  if (silent_) return;
  stdout_.flush();  // what the cell printed before the picture comes before it
  if (auto bundle = png_file_bundle(path))
    display_data(std::move(*bundle), nl::json::object(), nl::json::object());
}

nl::json KernelInterpreter::execute_request_impl(int execution_count, const std::string& code,
                                                 bool silent, bool /*store_history*/,
                                                 nl::json /*user_expressions*/,
                                                 bool /*allow_stdin*/) {
  silent_ = silent;
  diagnostics_.str("");
  perturb::clear_interrupt();  // an interrupt that came while no cell ran is not this cell's
  auto source = std::make_shared<SourceFile>("In[" + std::to_string(execution_count) + "]", code);
  const Outcome outcome = session_.run(source);
  stdout_.flush();
  flush_progress();
  perturb::clear_interrupt();
  const std::string rendered = diagnostics_.str();
  if (outcome.status != kExitOk) return report_failure(outcome.status, rendered);
  if (!rendered.empty() && !silent) publish_stream("stderr", rendered);
  if (outcome.value && !outcome.value->is_none() && !silent)
    publish_execution_result(execution_count, value_bundle(*outcome.value), nl::json::object());
  return xeus::create_successful_reply();
}

nl::json KernelInterpreter::report_failure(int status, const std::string& rendered) {
  const std::string name = error_name(status);
  std::vector<std::string> traceback = lines_of(rendered);
  const std::string plain = without_ansi(rendered);
  const std::string value = plain.substr(0, plain.find('\n'));
  if (!silent_) publish_execution_error(name, value, traceback);
  // Not xeus::create_error_reply: xeus 2.4.1's swaps ename and evalue.
  return nl::json{
      {"status", "error"}, {"ename", name}, {"evalue", value}, {"traceback", traceback}};
}

nl::json KernelInterpreter::complete_request_impl(const std::string& code, int cursor_pos) {
  const CompletionMatches found =
      complete_at(code, byte_offset(code, cursor_pos), session_.interpreter().globals());
  return xeus::create_complete_reply(found.matches, code_point_offset(code, found.start),
                                     code_point_offset(code, found.end));
}

nl::json KernelInterpreter::inspect_request_impl(const std::string& code, int cursor_pos,
                                                 int detail_level) {
  const auto text = inspect_at(code, byte_offset(code, cursor_pos), detail_level,
                               session_.interpreter().globals());
  if (!text) return xeus::create_inspect_reply(false);
  return xeus::create_inspect_reply(true,
                                    nl::json{{"text/plain", *text}, {"text/markdown", *text}});
}

nl::json KernelInterpreter::is_complete_request_impl(const std::string& code) {
  const ParseResult parsed = parse(std::make_shared<SourceFile>("<cell>", code));
  if (!parsed.errors.has_errors()) return xeus::create_is_complete_reply("complete");
  if (parsed.incomplete) return xeus::create_is_complete_reply("incomplete", "  ");
  return xeus::create_is_complete_reply("invalid");
}

nl::json KernelInterpreter::kernel_info_request_impl() {
  const std::string banner = std::string("Perturb ") + kVersion +
                             " — a language for adversarial machine learning. Shift-Tab on a "
                             "builtin shows its documentation.";
  return xeus::create_info_reply(kProtocolVersion, "perturb", kVersion, "perturb", kVersion,
                                 "text/x-perturb", ".ptb", "", "", "", banner);
}

void KernelInterpreter::shutdown_request_impl() {}

}  // namespace perturb::lang
