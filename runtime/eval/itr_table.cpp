// The retrieval robustness report (the paper's Table 1 layout).
#include "runtime/eval/itr_table.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", 100.0 * v);
  return buf;
}

}  // namespace

std::string ItrTable::table() const {
  constexpr size_t kCell = 7;
  size_t label = 6;  // "Attack"
  for (const auto& r : rows) label = std::max(label, r.size());
  label += 2;
  const size_t block = kCell * ks.size();
  std::string out = "Retrieval: " + data + "\n";
  out += std::string(label, ' ') + pad("TR", block) + "IR\n";
  out += pad("Attack", label);
  for (int side = 0; side < 2; ++side) {
    for (int64_t k : ks) out += pad("R@" + std::to_string(k), kCell);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line = pad(rows[r], label);
    for (double v : results[r].text_recall) line += pad(percent(v), kCell);
    for (double v : results[r].image_recall) line += pad(percent(v), kCell);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    out += rows[r] + ": " + results[r].attack + " (" + format_number(results[r].seconds) + " s, " +
           std::to_string(results[r].stats.gradient_evals) + " gradient evals, " +
           std::to_string(results[r].stats.queries) + " queries)\n";
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

const ItrResult& ItrTable::row(const std::string& name) const {
  const std::string want = lower(name);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (lower(rows[r]) == want) return results[r];
  }
  std::string names;
  for (const auto& r : rows) names += (names.empty() ? "" : ", ") + r;
  throw Error("the table has no row '" + name + "'; it has " + names);
}

ItrTable itr_table(TwoTower& model, const PairedDataset& data,
                   const std::vector<NamedMultimodalAttack>& attacks,
                   const std::vector<int64_t>& ks, int64_t batch, uint64_t seed) {
  if (ks.empty()) throw Error("itr_table needs at least one K");
  ItrTable table;
  table.data = data.describe();
  table.ks = ks;
  at::Generator clean_gen = make_generator(seed);
  table.rows.push_back("Clean");
  table.results.push_back(evaluate_itr(model, data, nullptr, clean_gen, ks, batch));
  for (const auto& named : attacks) {
    if (!named.attack) throw Error("itr_table was given an empty attack");
    at::Generator gen = make_generator(seed);
    table.rows.push_back(named.name);
    table.results.push_back(evaluate_itr(model, data, named.attack.get(), gen, ks, batch));
  }
  return table;
}

}  // namespace perturb
