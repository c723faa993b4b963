#include "runtime/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace perturb {
namespace {

constexpr int kBarWidth = 30;
// Redraw at most this often: a tight attack loop must not spend its time on the terminal.
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
// A sink's redraws are messages (to a notebook): fewer of them.
constexpr auto kSinkRedrawInterval = std::chrono::milliseconds(1000);

bool& bars_allowed() {
  static bool allowed = true;
  return allowed;
}

Progress::Sink& bar_sink() {
  static Progress::Sink sink;
  return sink;
}

}  // namespace

void Progress::disable_all() {
  bars_allowed() = false;
}

void Progress::set_sink(Sink sink) {
  bar_sink() = std::move(sink);
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 0)),
      enabled_(bars_allowed() && (bar_sink() || ::isatty(2) == 1)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - kRedrawInterval) {}

void Progress::advance(int64_t n, const std::string& status) {
  done_ = std::min(done_ + n, total_);
  if (!status.empty()) status_ = status;
  const auto interval = bar_sink() ? kSinkRedrawInterval : kRedrawInterval;
  if (std::chrono::steady_clock::now() - last_draw_ >= interval) draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

Progress::~Progress() {
  finish();
}

void Progress::draw(bool final) {
  if (!enabled_) return;
  last_draw_ = std::chrono::steady_clock::now();
  const double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  const double seconds = std::chrono::duration<double>(last_draw_ - start_).count();
  std::string bar(filled, '#');
  bar.resize(kBarWidth, '.');
  char line[512];
  std::snprintf(line, sizeof line, "%s [%s] %lld/%lld %.1fs %s", label_.c_str(), bar.c_str(),
                static_cast<long long>(done_), static_cast<long long>(total_), seconds,
                status_.c_str());
  if (bar_sink()) {
    bar_sink()(std::string("\r") + line + (final ? "\n" : ""));
    return;
  }
  // \r + clear-to-end-of-line redraws the same line in place.
  std::fprintf(stderr, "\r\033[K%s", line);
  if (final) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace perturb
