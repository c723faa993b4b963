#pragma once
// The kernel's side of the Jupyter protocol: xeus calls these for each request of a notebook.
// One Session runs every cell, so names persist between cells; print() output, progress bars,
// images the builtins write and the cell's value become messages as they happen.

#include <chrono>
#include <sstream>
#include <string>

#include <xeus/xinterpreter.hpp>

#include "interpreter/kernel/stream.h"
#include "interpreter/session.h"

namespace perturb::lang {

class KernelInterpreter : public xeus::xinterpreter {
 public:
  explicit KernelInterpreter(RunOptions options);
  ~KernelInterpreter() override;

 private:
  void configure_impl() override;
  nl::json execute_request_impl(int execution_count, const std::string& code, bool silent,
                                bool store_history, nl::json user_expressions,
                                bool allow_stdin) override;
  nl::json complete_request_impl(const std::string& code, int cursor_pos) override;
  nl::json inspect_request_impl(const std::string& code, int cursor_pos, int detail_level) override;
  nl::json is_complete_request_impl(const std::string& code) override;
  nl::json kernel_info_request_impl() override;
  void shutdown_request_impl() override;

  RunOptions with_outputs(RunOptions options);
  void show_image_file(const std::string& path);
  // The error reply of a failed cell, after publishing its `error` message.
  nl::json report_failure(int status, const std::string& rendered);
  // Progress bars as `stderr` stream messages, at most one a second across all bars: a loop of
  // short epochs would otherwise send a message per epoch. The newest text waits and goes out
  // when the second is up, or when the cell ends (flush_progress), so the last state shows.
  void publish_progress(const std::string& text);
  void flush_progress();

  PublishingStream stdout_;
  std::ostringstream diagnostics_;  // the cell's rendered errors (with carets)
  bool silent_ = false;             // the running cell asked for no output
  std::string pending_progress_;    // the newest progress text not yet published
  std::chrono::steady_clock::time_point last_progress_;
  Session session_;
};

}  // namespace perturb::lang
