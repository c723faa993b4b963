// The retrieval robustness report as files for Python: JSON and CSV.
#include "runtime/eval/itr_table.h"
#include "runtime/report/csv.h"
#include "runtime/report/json.h"

namespace perturb {
namespace {

// {"r1": .., "r5": ..}: the keys the table's fields use in scripts (t.clean.tr.r1).
json::Json recalls_json(const std::vector<int64_t>& ks, const std::vector<double>& recall) {
  json::Json out = json::Json::object();
  for (size_t i = 0; i < ks.size(); ++i) out["r" + std::to_string(ks[i])] = json::number(recall[i]);
  return out;
}

}  // namespace

std::string ItrTable::json() const {
  json::Json rows_json = json::Json::array();
  for (size_t r = 0; r < rows.size(); ++r) {
    const ItrResult& result = results[r];
    rows_json.push_back({{"row", rows[r]},
                         {"attack", result.attack},
                         {"tr", recalls_json(ks, result.text_recall)},
                         {"ir", recalls_json(ks, result.image_recall)},
                         {"images", result.images},
                         {"captions", result.captions},
                         {"seconds", json::number(result.seconds)},
                         {"gradient_evals", result.stats.gradient_evals},
                         {"queries", result.stats.queries}});
  }
  return json::dump({{"data", data}, {"ks", ks}, {"rows", std::move(rows_json)}});
}

std::string ItrTable::csv() const {
  csv::Row header = {"row"};
  for (const char* side : {"tr", "ir"}) {
    for (int64_t k : ks) header.push_back(std::string(side) + "_r" + std::to_string(k));
  }
  for (const char* column :
       {"images", "captions", "seconds", "gradient_evals", "queries", "attack"})
    header.push_back(column);
  std::vector<csv::Row> lines;
  for (size_t r = 0; r < rows.size(); ++r) {
    const ItrResult& result = results[r];
    csv::Row line = {rows[r]};
    for (double v : result.text_recall) line.push_back(csv::number(v));
    for (double v : result.image_recall) line.push_back(csv::number(v));
    for (int64_t v : {result.images, result.captions}) line.push_back(csv::number(v));
    line.push_back(csv::number(result.seconds));
    line.push_back(csv::number(result.stats.gradient_evals));
    line.push_back(csv::number(result.stats.queries));
    line.push_back(result.attack);
    lines.push_back(std::move(line));
  }
  return csv::table(header, lines);
}

}  // namespace perturb
