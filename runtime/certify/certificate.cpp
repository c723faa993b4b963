#include "runtime/certify/certificate.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/report/csv.h"
#include "runtime/report/format.h"
#include "runtime/report/json.h"

namespace perturb {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The radii a summary shows: 0 and a few round values up to the largest certified radius.
std::vector<double> summary_radii(const Certificate& cert) {
  double top = 0;
  for (const auto& row : cert.rows) top = std::max(top, row.radius);
  std::vector<double> radii = {0};
  if (top > 0) {
    for (double r : nice_ticks(0, top, 4))
      if (r > 0) radii.push_back(r);
  }
  return radii;
}

}  // namespace

double Certificate::abstain() const {
  if (rows.empty()) return 0;
  int64_t n = 0;
  for (const auto& row : rows) n += row.prediction == kAbstain;
  return static_cast<double>(n) / static_cast<double>(rows.size());
}

double Certificate::accuracy_at(double r) const {
  if (rows.empty()) return 0;
  int64_t n = 0;
  for (const auto& row : rows) n += row.correct && row.radius >= r;
  return static_cast<double>(n) / static_cast<double>(rows.size());
}

std::vector<double> Certificate::accuracy_at(const std::vector<double>& radii) const {
  std::vector<double> out;
  out.reserve(radii.size());
  for (double r : radii) out.push_back(accuracy_at(r));
  return out;
}

int64_t Certificate::total_samples() const {
  int64_t n = 0;
  for (const auto& row : rows) n += row.samples;
  return n;
}

PlotSeries Certificate::curve(const std::string& label) const {
  // accuracy_at(r) holds its value up to and including each certified radius and drops just
  // after it. As a step series (y[k] held until x[k+1]): (0, A(0)), then at each distinct
  // positive radius r the value just past it, then a short run at 0 past the largest radius.
  PlotSeries s;
  s.label = label;
  s.step = true;
  std::vector<double> radii;
  for (const auto& row : rows)
    if (row.correct && row.radius > 0) radii.push_back(row.radius);
  std::sort(radii.begin(), radii.end());
  radii.erase(std::unique(radii.begin(), radii.end()), radii.end());
  const double n = rows.empty() ? 1.0 : static_cast<double>(rows.size());
  auto above = [&](double r) {
    int64_t k = 0;
    for (const auto& row : rows) k += row.correct && row.radius > r;
    return static_cast<double>(k) / n;
  };
  s.x.push_back(0);
  s.y.push_back(accuracy_at(0));
  if (above(0) != accuracy_at(0)) {  // correct predictions certified at radius 0 only
    s.x.push_back(0);
    s.y.push_back(above(0));
  }
  for (double r : radii) {
    s.x.push_back(r);
    s.y.push_back(above(r));
  }
  s.x.push_back(radii.empty() ? 1.0 : radii.back() * 1.05);
  s.y.push_back(s.y.back());
  return s;
}

std::string Certificate::json() const {
  json::Json settings_json = json::Json::object();
  for (const auto& [key, value] : settings) settings_json[key] = json::number(value);
  // Keyed by the radius as print writes it ("0", "0.25"): ticks are round numbers, and a key
  // is text a reader types, not 0.30000000000000004.
  json::Json accuracy = json::Json::object();
  for (double r : summary_radii(*this)) accuracy[format_number(r)] = accuracy_at(r);
  json::Json rows_json = json::Json::array();
  for (const auto& r : rows) {
    rows_json.push_back({{"idx", r.idx},
                         {"label", r.label},
                         {"predict", r.prediction},
                         {"radius", json::number(r.radius)},
                         {"correct", r.correct ? 1 : 0},
                         {"time", json::number(r.seconds)},
                         {"samples", r.samples}});
  }
  return json::dump({{"method", method},
                     {"norm", norm},
                     {"alpha", json::number(alpha)},
                     {"settings", std::move(settings_json)},
                     {"inputs", size()},
                     {"samples", total_samples()},
                     {"abstain", json::number(abstain())},
                     {"accuracy_at", std::move(accuracy)},
                     {"rows", std::move(rows_json)}});
}

std::string Certificate::tsv() const {
  std::ostringstream out;
  out << "idx\tlabel\tpredict\tradius\tcorrect\ttime\tsamples\n";
  char buffer[64];
  for (const auto& r : rows) {
    // The reference writes the radius with 3 significant digits; we keep 6 so nothing is lost.
    std::snprintf(buffer, sizeof buffer, "%.6g", r.radius);
    out << r.idx << "\t" << r.label << "\t" << r.prediction << "\t" << buffer << "\t"
        << (r.correct ? 1 : 0) << "\t";
    std::snprintf(buffer, sizeof buffer, "%.4f", r.seconds);
    out << buffer << "\t" << r.samples << "\n";
  }
  return out.str();
}

std::string Certificate::csv() const {
  std::vector<csv::Row> table;
  for (const auto& r : rows) {
    table.push_back({csv::number(r.idx), csv::number(r.label), csv::number(r.prediction),
                     csv::number(r.radius), r.correct ? "1" : "0", csv::number(r.seconds),
                     csv::number(r.samples)});
  }
  return csv::table({"idx", "label", "predict", "radius", "correct", "time", "samples"}, table);
}

void Certificate::save(const std::string& path) const {
  if (ends_with(path, ".tsv")) {
    write_file_atomic(path, tsv());
  } else if (ends_with(path, ".csv")) {
    write_file_atomic(path, csv());
  } else {
    write_file_atomic(path, json() + "\n");
  }
}

std::string Certificate::describe() const {
  std::ostringstream out;
  out << "certificate " << method << ": " << size() << " inputs, abstained on "
      << format_number(abstain() * 100) << "%, certified accuracy";
  const std::vector<double> radii = summary_radii(*this);
  for (size_t i = 0; i < radii.size(); ++i) {
    out << (i ? ", " : " ") << format_number(accuracy_at(radii[i])) << " at "
        << format_number(radii[i]);
  }
  if (total_samples() > 0) out << "; " << total_samples() << " noisy samples";
  return out.str();
}

void plot_certificates(const std::string& path, const std::vector<const Certificate*>& certs,
                       std::vector<std::string> labels, const std::string& title) {
  if (certs.empty()) throw Error("plot needs at least one certificate");
  if (!labels.empty() && labels.size() != certs.size())
    throw Error("plot got " + std::to_string(labels.size()) + " labels for " +
                std::to_string(certs.size()) + " certificates");
  std::vector<PlotSeries> series;
  std::string norm;
  for (size_t i = 0; i < certs.size(); ++i) {
    series.push_back(certs[i]->curve(labels.empty() ? certs[i]->method : labels[i]));
    if (norm.empty()) norm = certs[i]->norm;
  }
  PlotOptions options;
  options.title = title.empty() ? "Certified accuracy" : title;
  options.x_label = norm.empty() ? "radius" : "radius (" + norm + ")";
  options.y_label = "certified accuracy";
  options.y_min = 0;
  options.y_max = 1;
  write_line_plot(path, series, options);
}

}  // namespace perturb
