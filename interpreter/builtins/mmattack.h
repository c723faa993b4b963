#pragma once
// The retrieval robustness report returned by itr_table: prints the paper's Table 1 layout;
// fields give the numbers.
#include <cctype>

#include "interpreter/value.h"
#include "runtime/eval/itr_table.h"

namespace perturb::lang {

// t.rows: the row labels; t.ks: the K of each R@K column; t.clean, t.pgd, t.coattack... (a
// row's label in lower case): {tr: {r1:, r5:}, ir: {r1:, r5:}} as fractions in [0, 1], like
// itr(...)'s record.
class ItrTableObject : public Object {
 public:
  explicit ItrTableObject(ItrTable table) : table(std::move(table)) {}
  Kind kind() const override { return Kind::kReport; }
  std::string describe() const override { return table.table(); }
  std::optional<Value> field(const std::string& name) const override {
    if (name == "rows") {
      std::vector<Value> rows(table.rows.begin(), table.rows.end());
      return make_list(std::move(rows));
    }
    if (name == "ks") {
      std::vector<Value> ks(table.ks.begin(), table.ks.end());
      return make_list(std::move(ks));
    }
    for (size_t r = 0; r < table.rows.size(); ++r) {
      if (key(table.rows[r]) != name) continue;
      const ItrResult& result = table.results[r];
      auto side = [&](const std::vector<double>& recall) {
        auto record = std::make_shared<Record>();
        for (size_t i = 0; i < table.ks.size(); ++i) {
          record->set("r" + std::to_string(table.ks[i]), Value(recall[i]));
        }
        return Value(record);
      };
      auto record = std::make_shared<Record>();
      record->set("tr", side(result.text_recall));
      record->set("ir", side(result.image_recall));
      record->set("seconds", Value(result.seconds));
      record->set("attack", Value(result.attack));
      return Value(record);
    }
    return std::nullopt;
  }
  std::vector<std::string> field_names() const override {
    std::vector<std::string> names = {"rows", "ks"};
    for (const auto& row : table.rows) names.push_back(key(row));
    return names;
  }
  // "CoAttack" → "coattack", "PGD (2)" → "pgd_2".
  static std::string key(const std::string& label) {
    std::string out;
    for (unsigned char c : label) {
      if (std::isalnum(c)) {
        out += static_cast<char>(std::tolower(c));
      } else if (!out.empty() && out.back() != '_') {
        out += '_';
      }
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
  }
  ItrTable table;
};

}  // namespace perturb::lang
