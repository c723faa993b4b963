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
// Whether a signal arrived since the handlers were installed, or a resource limit was crossed.
bool interrupt_requested();
// "Ctrl-C (SIGINT)", "SIGTERM" or the limit ("--timeout 60 s"), for messages.
std::string interrupt_name();
// A resource limit was crossed (runtime/core/limits.h): `limit` names it ("--timeout 60 s").
// Honoured as a signal is; the interpreter also stops at its next loop iteration or call.
void request_limit_stop(const std::string& limit);
// Whether the request came from a resource limit rather than a signal.
bool limit_crossed();
// Forgets a request: tests, and the Jupyter kernel once a cell has honoured one.
void clear_interrupt();
// Records a Ctrl-C as the handler would, for a process that lives on after interrupts (the
// Jupyter kernel, whose signal thread waits for SIGINT with sigwait and calls this): a later
// request while one is pending is not a reason to exit.
void request_interrupt();

// While one lives, a signal is a request the caller honours at its next safe point.
class HonourInterrupts {
 public:
  HonourInterrupts();
  ~HonourInterrupts();
  HonourInterrupts(const HonourInterrupts&) = delete;
  HonourInterrupts& operator=(const HonourInterrupts&) = delete;
};

}  // namespace perturb
