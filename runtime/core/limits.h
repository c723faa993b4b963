// --max-memory and --timeout, for running scripts from others: a watchdog thread asks the process
// to stop when it runs past its time or its resident memory grows past the limit, and ends it
// when nothing stopped within a grace period (a long runtime call that checks no interrupts).
#pragma once

#include <optional>
#include <string>

namespace perturb {

struct ResourceLimits {
  std::optional<double> max_memory_bytes;  // resident set size
  std::optional<double> timeout_seconds;   // wall clock, from watch_resource_limits
};

// Starts the watchdog (once per process). Crossing a limit calls request_limit_stop (a training
// run checkpoints and stops, the interpreter stops at its next loop iteration or call); a process
// still running `grace_seconds` later is ended with exit status 70 and a message on stderr.
void watch_resource_limits(const ResourceLimits& limits, double grace_seconds = 5);

// The most one allocation may take now: the memory this machine has available (MemAvailable), or
// what is left under a limit on the resident memory when that is less (--max-memory sets one, as
// does the evaluator's fuzz target).
double allocatable_bytes();
void limit_allocations(double bytes);

// "the 21.3 GB of memory this machine has available" or "the 0.6 GB left under the --max-memory
// limit of 2.0 GB" (a limit set by limit_allocations is named so).
std::string allocatable_text();

// "2.0 GB", "512 MB": bytes as the messages show them (powers of 1000).
std::string readable_bytes(double bytes);

// "2G", "512M", "1.5GB", "100000" (bytes; powers of 1000) as bytes, or nullopt when it is none of
// these.
std::optional<double> parse_bytes(const std::string& text);

}  // namespace perturb
