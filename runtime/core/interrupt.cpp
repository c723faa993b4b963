#include "runtime/core/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace perturb {
namespace {

std::atomic<int> received{0};
std::atomic<int> honouring{0};
// received holds a signal's number, or this for a resource limit (written once, before it).
constexpr int kLimit = -1;
std::string crossed_limit;

// Async-signal-safe: atomics, then write(2) and _exit(2) when nothing will honour the request.
extern "C" void on_signal(int signal) {
  if (received.exchange(signal) == 0 && honouring.load() > 0) return;
  const char message[] = "\nperturb: interrupted\n";
  [[maybe_unused]] auto ignored = write(STDERR_FILENO, message, sizeof message - 1);
  _exit(128 + signal);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupt_requested() {
  return received.load() != 0;
}

std::string interrupt_name() {
  const int request = received.load();
  if (request == kLimit) return crossed_limit;
  return request == SIGTERM ? "SIGTERM" : "Ctrl-C (SIGINT)";
}

void request_limit_stop(const std::string& limit) {
  if (received.load() != 0) return;
  crossed_limit = limit;
  received.store(kLimit);
}

bool limit_crossed() {
  return received.load() == kLimit;
}

void clear_interrupt() {
  received.store(0);
}

void request_interrupt() {
  int expected = 0;
  received.compare_exchange_strong(expected, SIGINT);
}

HonourInterrupts::HonourInterrupts() {
  ++honouring;
}

HonourInterrupts::~HonourInterrupts() {
  --honouring;
}

}  // namespace perturb
