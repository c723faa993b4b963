// Ctrl-C (SIGINT) and SIGTERM as a request to stop at the next safe point: a training loop
// checkpoints its last complete step and throws Interrupted. Outside such a loop, or at a second
// signal, the process exits at once (128 + the signal's number), as without handlers.
#pragma once

#include <string>

#include "runtime/core/error.h"

namespace perturb {

// The user interrupted a long computation and it stopped at a safe point (exit 130). Message
// says what was kept and how to go on.
class Interrupted : public Error {
 public:
  using Error::Error;
};

// Installs the handlers (the interpreter does, for `perturb run`). Without them the signals
// keep their default action and interrupt_requested() stays false.
void install_interrupt_handlers();
// Whether a signal arrived since the handlers were installed.
bool interrupt_requested();
// "Ctrl-C (SIGINT)" or "SIGTERM", for messages.
std::string interrupt_name();
// Forgets a request (tests).
void clear_interrupt();

// While one lives, a signal is a request the caller honours at its next safe point.
class HonourInterrupts {
 public:
  HonourInterrupts();
  ~HonourInterrupts();
  HonourInterrupts(const HonourInterrupts&) = delete;
  HonourInterrupts& operator=(const HonourInterrupts&) = delete;
};

}  // namespace perturb
