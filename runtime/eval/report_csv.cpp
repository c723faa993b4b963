#include "runtime/eval/report_csv.h"

#include "runtime/report/csv.h"

namespace perturb {
namespace {

csv::Row attack_row(const AttackResult& a) {
  return {a.name,
          csv::number(a.accuracy),
          csv::number(a.attacked),
          csv::number(a.stats.gradient_evals),
          csv::number(a.stats.queries),
          csv::number(a.stats.gradient_evals_saved),
          a.early_stop ? "true" : "false",
          csv::number(a.seconds)};
}

// The clean pass as the table prints it: every sample, one query each, no gradients.
csv::Row clean_row(const EvalReport& r) {
  return {"clean", csv::number(r.clean),        csv::number(r.samples),
          "0",     csv::number(r.samples),      "0",
          "false", csv::number(r.clean_seconds)};
}

// The clean row, then one per attack.
void append_rows(const EvalReport& r, std::vector<csv::Row>& rows) {
  rows.push_back(clean_row(r));
  for (const auto& a : r.by_attack) rows.push_back(attack_row(a));
}

}  // namespace

std::string report_csv(const EvalReport& report) {
  csv::Row header = {"attack",         "accuracy", "attacked",
                     "gradient_evals", "queries",  "gradient_evals_saved",
                     "early_stop",     "seconds"};
  std::vector<csv::Row> rows;
  if (!report.is_sweep()) {
    append_rows(report, rows);
    return csv::table(header, rows);
  }
  header.insert(header.begin(), "eps");
  for (size_t i = 0; i < report.points.size(); ++i) {
    const size_t first = rows.size();
    append_rows(report.points[i], rows);
    for (size_t k = first; k < rows.size(); ++k) {
      rows[k].insert(rows[k].begin(), csv::number(report.eps[i]));
    }
  }
  return csv::table(header, rows);
}

}  // namespace perturb
