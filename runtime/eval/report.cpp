// EvalReport's renderings: a text table for people, JSON for tools, a PNG of accuracy against
// eps for sweeps.
#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/eval/evaluate.h"
#include "runtime/report/format.h"
#include "runtime/report/json.h"
#include "runtime/report/plot.h"

namespace perturb {
namespace {

std::string seconds_text(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", s);
  return buffer;
}

std::string percent_text(double accuracy) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100 * accuracy);
  return buffer;
}

// Left-aligned first column, the others right-aligned, two spaces apart.
std::string render(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    if (widths.size() < r.size()) widths.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const std::string pad(widths[i] - r[i].size(), ' ');
      if (i == 0) {
        line += r[i] + pad;
      } else {
        line += "  " + pad + r[i];
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string single_table(const EvalReport& report) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"", "accuracy", "attacked", "grad evals", "queries", "seconds"});
  rows.push_back({"clean", percent_text(report.clean), std::to_string(report.samples), "0",
                  std::to_string(report.samples), seconds_text(report.clean_seconds)});
  int64_t grads = 0, queries = report.samples;
  for (const auto& r : report.by_attack) {
    rows.push_back({r.name, percent_text(r.accuracy), std::to_string(r.attacked),
                    std::to_string(r.stats.gradient_evals), std::to_string(r.stats.queries),
                    seconds_text(r.seconds)});
    grads += r.stats.gradient_evals;
    queries += r.stats.queries;
  }
  rows.push_back({"worst case", percent_text(report.robust), "-", std::to_string(grads),
                  std::to_string(queries), seconds_text(report.seconds())});
  return render(rows);
}

std::string sweep_table(const EvalReport& report) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"eps"};
  for (double e : report.eps) header.push_back(format_number(e));
  rows.push_back(header);
  std::vector<std::string> clean = {"clean"};
  for (const auto& p : report.points) clean.push_back(percent_text(p.clean));
  rows.push_back(clean);
  for (size_t a = 0; a < report.by_attack.size(); ++a) {
    std::vector<std::string> row = {report.by_attack[a].name};
    for (const auto& p : report.points) row.push_back(percent_text(p.by_attack[a].accuracy));
    rows.push_back(row);
  }
  std::vector<std::string> worst = {"worst case"};
  for (const auto& p : report.points) worst.push_back(percent_text(p.robust));
  rows.push_back(worst);
  std::vector<std::string> seconds = {"seconds"};
  for (const auto& p : report.points) seconds.push_back(seconds_text(p.seconds()));
  rows.push_back(seconds);
  return render(rows);
}

json::Json attack_json(const AttackResult& a) {
  return {{"accuracy", json::number(a.accuracy)},
          {"seconds", json::number(a.seconds)},
          {"attacked", a.attacked},
          {"gradient_evals", a.stats.gradient_evals},
          {"queries", a.stats.queries},
          {"early_stop", a.early_stop},
          {"gradient_evals_saved", a.stats.gradient_evals_saved}};
}

json::Json report_json(const EvalReport& r) {
  json::Json by_attack = json::Json::object();
  for (const auto& a : r.by_attack) by_attack[a.name] = attack_json(a);
  json::Json out = {{"samples", r.samples},
                    {"clean", json::number(r.clean)},
                    {"robust", json::number(r.robust)},
                    {"early_stop", r.early_stop},
                    {"by_attack", std::move(by_attack)}};
  if (r.is_sweep()) {
    out["seconds"] = json::number(r.seconds());
    json::Json eps = json::Json::array();
    for (double e : r.eps) eps.push_back(json::number(e));
    out["eps"] = std::move(eps);
    json::Json points = json::Json::array();
    for (const auto& p : r.points) points.push_back(report_json(p));
    out["points"] = std::move(points);
  }
  return out;
}

}  // namespace

double EvalReport::seconds() const {
  if (is_sweep()) {
    double total = 0;
    for (const auto& p : points) total += p.seconds();
    return total;
  }
  double total = clean_seconds;
  for (const auto& r : by_attack) total += r.seconds;
  return total;
}

int64_t EvalReport::gradient_evals_saved() const {
  int64_t total = 0;
  if (is_sweep()) {
    for (const auto& p : points) total += p.gradient_evals_saved();
    return total;
  }
  for (const auto& r : by_attack) total += r.stats.gradient_evals_saved;
  return total;
}

std::string EvalReport::early_stop_line() const {
  if (!early_stop) return "early stop: off";
  std::string names;
  for (const auto& r : by_attack) {
    if (r.early_stop) names += (names.empty() ? "" : ", ") + r.name;
  }
  if (names.empty()) return "early stop: on (none of these attacks stops early)";
  return "early stop: on (" + names + "; " + std::to_string(gradient_evals_saved()) +
         " gradient evaluations saved)";
}

std::string EvalReport::table() const {
  return (is_sweep() ? sweep_table(*this) : single_table(*this)) + early_stop_line() + "\n";
}

std::string EvalReport::json() const {
  return json::dump(report_json(*this));
}

void plot_sweep(const EvalReport& report, const std::string& path, const std::string& title) {
  if (!report.is_sweep()) {
    throw Error(
        "plot draws a report of a sweep, evaluate(..., eps: [...]); this report has one threat "
        "size");
  }
  std::vector<PlotSeries> series;
  auto line = [&](const std::string& label, auto value) {
    PlotSeries s;
    s.label = label;
    s.markers = true;
    s.x = report.eps;
    for (const auto& p : report.points) s.y.push_back(value(p));
    series.push_back(std::move(s));
  };
  line("clean", [](const EvalReport& p) { return p.clean; });
  for (size_t a = 0; a < report.by_attack.size(); ++a) {
    line(report.by_attack[a].name, [a](const EvalReport& p) { return p.by_attack[a].accuracy; });
  }
  line("worst case", [](const EvalReport& p) { return p.robust; });
  PlotOptions options;
  options.title = title.empty() ? "Robust accuracy against eps" : title;
  options.x_label = "eps";
  options.y_label = "accuracy";
  options.y_min = 0;
  options.y_max = 1;
  write_line_plot(path, series, options);
}

}  // namespace perturb
