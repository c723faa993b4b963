// EvalReport's two renderings: a text table for people, JSON for tools.
#include <cstdio>

#include "runtime/eval/evaluate.h"
#include "runtime/report/json.h"

namespace perturb {
namespace {

std::string row(const std::string& name, double accuracy, const std::string& attacked,
                const std::string& seconds, size_t name_width) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%-*s  %8.2f%%  %8s  %8s\n", static_cast<int>(name_width),
                name.c_str(), 100 * accuracy, attacked.c_str(), seconds.c_str());
  return buffer;
}

std::string seconds_text(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", s);
  return buffer;
}

}  // namespace

std::string EvalReport::table() const {
  size_t width = std::string("worst case").size();
  for (const auto& r : by_attack) width = std::max(width, r.name.size());
  char header[256];
  std::snprintf(header, sizeof header, "%-*s  %9s  %8s  %8s\n", static_cast<int>(width), "",
                "accuracy", "attacked", "seconds");
  std::string out = header;
  out += row("clean", clean, std::to_string(samples), seconds_text(clean_seconds), width);
  double total_seconds = clean_seconds;
  for (const auto& r : by_attack) {
    out += row(r.name, r.accuracy, std::to_string(r.attacked), seconds_text(r.seconds), width);
    total_seconds += r.seconds;
  }
  out += row("worst case", robust, "-", seconds_text(total_seconds), width);
  return out;
}

std::string EvalReport::json() const {
  std::string out = "{\"samples\":" + json::number(samples) + ",\"clean\":" + json::number(clean) +
                    ",\"robust\":" + json::number(robust) + ",\"by_attack\":{";
  for (size_t i = 0; i < by_attack.size(); ++i) {
    const auto& r = by_attack[i];
    if (i > 0) out += ",";
    out += json::quote(r.name) + ":{\"accuracy\":" + json::number(r.accuracy) +
           ",\"seconds\":" + json::number(r.seconds) + ",\"attacked\":" + json::number(r.attacked) +
           ",\"gradient_evals\":" + json::number(r.stats.gradient_evals) +
           ",\"queries\":" + json::number(r.stats.queries) + "}";
  }
  return out + "}}";
}

}  // namespace perturb
