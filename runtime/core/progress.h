// A one-line progress bar on stderr, drawn only when stderr is a terminal, or handed to a sink
// (the Jupyter kernel's stderr stream) when one is set.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace perturb {

class Progress {
 public:
  // Off for the whole process: the ranks other than 0 of a group draw no bars, so the
  // terminal they share shows one.
  static void disable_all();
  // Bars go to `sink` instead of the terminal: each redraw is one piece of text that starts with
  // "\r" (a notebook redraws the line in place), at most one a second, and the final one ends
  // with "\n". An empty function sends bars back to the terminal.
  using Sink = std::function<void(const std::string& text)>;
  static void set_sink(Sink sink);

  Progress(std::string label, int64_t total);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Adds `n` units of work done; `status` is shown after the bar (e.g. "loss 0.41").
  void advance(int64_t n, const std::string& status = "");
  // Draws the final state and ends the line; called by the destructor if not called before.
  void finish();
  ~Progress();

 private:
  void draw(bool final);

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::string status_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace perturb
