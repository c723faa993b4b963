#include "runtime/core/limits.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "runtime/core/interrupt.h"

namespace perturb {
namespace {

std::atomic<double> memory_limit{0};  // 0: none

double physical_memory_bytes() {
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

// The resident set from /proc/self/statm (pages), 0 where it cannot be read.
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

// What was crossed, or "" while nothing is.
std::string crossed(const ResourceLimits& limits, std::chrono::steady_clock::time_point start) {
  if (limits.timeout_seconds) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed.count() > *limits.timeout_seconds)
      return "--timeout " + seconds_text(*limits.timeout_seconds);
  }
  if (limits.max_memory_bytes && resident_bytes() > *limits.max_memory_bytes)
    return "--max-memory " + readable_bytes(*limits.max_memory_bytes);
  return "";
}

void watch(ResourceLimits limits, double grace_seconds) {
  const auto start = std::chrono::steady_clock::now();
  std::string limit;
  while ((limit = crossed(limits, start)).empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  request_limit_stop(limit);
  std::this_thread::sleep_for(std::chrono::duration<double>(grace_seconds));
  // Still running: a runtime call that checks no interrupts. write(2) and _exit(2), as the
  // process may be anywhere.
  const std::string message = "perturb: error: the script ran past its limit (" + limit +
                              ") and did not stop within " + seconds_text(grace_seconds) + "\n";
  [[maybe_unused]] auto ignored = write(STDERR_FILENO, message.data(), message.size());
  _exit(70);
}

}  // namespace

void watch_resource_limits(const ResourceLimits& limits, double grace_seconds) {
  if (limits.max_memory_bytes) limit_allocations(*limits.max_memory_bytes);
  if (!limits.max_memory_bytes && !limits.timeout_seconds) return;
  std::thread(watch, limits, grace_seconds).detach();
}

void limit_allocations(double bytes) {
  memory_limit.store(bytes);
}

namespace {

// MemAvailable of /proc/meminfo: what the kernel can hand out without swapping; the physical
// memory where it cannot be read.
double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kilobytes = 0;
  std::string unit;
  while (meminfo >> key >> kilobytes >> unit) {
    if (key == "MemAvailable:") return kilobytes * 1024;
  }
  return physical_memory_bytes();
}

// What is left under the limit, when one is set and tighter than the machine.
std::optional<double> left_under_limit(double available) {
  const double limit = memory_limit.load();
  if (limit <= 0) return std::nullopt;
  const double left = std::max(0.0, limit - resident_bytes());
  if (left >= available) return std::nullopt;
  return left;
}

}  // namespace

double allocatable_bytes() {
  const double available = available_memory_bytes();
  return left_under_limit(available).value_or(available);
}

std::string allocatable_text() {
  const double available = available_memory_bytes();
  if (auto left = left_under_limit(available)) {
    return "the " + readable_bytes(*left) + " left under the --max-memory limit of " +
           readable_bytes(memory_limit.load());
  }
  return "the " + readable_bytes(available) + " of memory this machine has available";
}

std::string readable_bytes(double bytes) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 6) {
    bytes /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::optional<double> parse_bytes(const std::string& text) {
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || !std::isfinite(number) || number <= 0)
    return std::nullopt;
  std::string unit(end);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b') && unit.size() == 2)
    unit.pop_back();
  const std::string units = "KMGT";
  if (unit.empty()) return number;
  if (unit.size() != 1) return std::nullopt;
  const size_t power = units.find(static_cast<char>(std::toupper(unit[0])));
  if (power == std::string::npos) return std::nullopt;
  return number * std::pow(1000.0, static_cast<double>(power + 1));
}

}  // namespace perturb
