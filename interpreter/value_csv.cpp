#include "interpreter/value_csv.h"

#include "runtime/core/error.h"
#include "runtime/report/csv.h"
#include "runtime/report/format.h"

namespace perturb::lang {

const char* const kCsvShapes =
    "CSV takes a list of records with the same keys (one row each), a record of equal-length "
    "lists or 1-D tensors (its columns), a record of single values (one row), a 1-D or 2-D "
    "tensor, a report or a certificate";

namespace {

[[noreturn]] void no_table(const std::string& what) {
  throw Error("save: " + what + " has no CSV form; " + kCsvShapes);
}

bool is_cell(const Value& v) {
  return v.is_none() || v.is<bool>() || v.is<double>() || v.is<std::string>() ||
         (v.is<torch::Tensor>() && v.as<torch::Tensor>().numel() == 1);
}

std::string cell(const Value& v, const std::string& where) {
  if (v.is_none()) return "";
  if (v.is<bool>()) return v.as<bool>() ? "true" : "false";
  if (v.is<double>()) return csv::number(v.as<double>());
  if (v.is<std::string>()) return v.as<std::string>();
  if (is_cell(v)) return csv::number(v.as<torch::Tensor>().item<double>());
  throw Error("save: " + where + " is " + kind_with_article(v.kind()) +
              "; a CSV cell holds a number, string, bool, none or one-element tensor");
}

// A 1-D or 2-D tensor's numbers; integers stay exact.
std::vector<csv::Row> tensor_rows(const torch::Tensor& tensor) {
  torch::Tensor t = tensor.detach().to(torch::kCPU);
  if (t.dim() == 1) t = t.unsqueeze(1);
  if (t.dim() != 2 || t.is_complex()) {
    no_table("a tensor of shape " + format_shape(tensor.sizes().vec()));
  }
  const bool integral = !t.is_floating_point();
  t = (integral ? t.to(torch::kInt64) : t.to(torch::kFloat64)).contiguous();
  std::vector<csv::Row> rows(t.size(0));
  for (int64_t i = 0; i < t.size(0); ++i) {
    for (int64_t j = 0; j < t.size(1); ++j) {
      const int64_t at = i * t.size(1) + j;
      rows[i].push_back(integral ? csv::number(t.data_ptr<int64_t>()[at])
                                 : csv::number(t.data_ptr<double>()[at]));
    }
  }
  return rows;
}

// Records with the same keys, in any order: columns in the first record's order.
std::string records_csv(const std::vector<Value>& items) {
  const std::vector<std::string> keys = items[0].as<RecordPtr>()->keys();
  std::vector<csv::Row> rows;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string item = "item " + std::to_string(i);
    if (!items[i].is<RecordPtr>()) no_table("a list whose " + item + " is not a record");
    const Record& record = *items[i].as<RecordPtr>();
    if (record.fields.size() != keys.size()) {
      throw Error("save: CSV needs records with the same keys; " + item + " has " +
                  std::to_string(record.fields.size()) + " keys, item 0 has " +
                  std::to_string(keys.size()));
    }
    csv::Row row;
    for (const auto& key : keys) {
      const Value* v = record.find(key);
      if (!v)
        throw Error("save: CSV needs records with the same keys; " + item + " has no '" + key +
                    "'");
      row.push_back(cell(*v, item + "'s field '" + key + "'"));
    }
    rows.push_back(std::move(row));
  }
  return csv::table(keys, rows);
}

// A field as a column: a list's items or a 1-D tensor's numbers; nullopt for anything else.
std::optional<std::vector<Value>> column(const Value& v) {
  if (v.is<ListPtr>()) return *v.as<ListPtr>();
  if (v.is<torch::Tensor>() && v.as<torch::Tensor>().dim() == 1) {
    const torch::Tensor t = v.as<torch::Tensor>().detach().to(torch::kCPU);
    const bool flags = t.scalar_type() == torch::kBool;
    const torch::Tensor numbers = t.to(torch::kFloat64).contiguous();
    std::vector<Value> items;
    for (int64_t i = 0; i < t.size(0); ++i) {
      const double x = numbers.data_ptr<double>()[i];
      items.push_back(flags ? Value(x != 0) : Value(x));
    }
    return items;
  }
  return std::nullopt;
}

std::string columns_csv(const Record& record) {
  std::vector<std::vector<Value>> columns;
  for (const auto& [key, field] : record.fields) {
    auto items = column(field);
    if (!items) no_table("a record mixing columns (lists, 1-D tensors) with field '" + key + "'");
    if (!columns.empty() && items->size() != columns[0].size()) {
      throw Error("save: CSV columns must have one length; field '" + key + "' has " +
                  std::to_string(items->size()) + " values, '" + record.fields[0].first + "' has " +
                  std::to_string(columns[0].size()));
    }
    columns.push_back(std::move(*items));
  }
  std::vector<csv::Row> rows(columns[0].size());
  for (size_t c = 0; c < columns.size(); ++c) {
    for (size_t r = 0; r < rows.size(); ++r) {
      rows[r].push_back(
          cell(columns[c][r], "row " + std::to_string(r) + " of '" + record.fields[c].first + "'"));
    }
  }
  return csv::table(record.keys(), rows);
}

std::string record_csv(const Record& record) {
  if (record.fields.empty()) no_table("an empty record");
  if (!is_cell(record.fields[0].second)) return columns_csv(record);
  csv::Row row;
  for (const auto& [key, field] : record.fields) row.push_back(cell(field, "field '" + key + "'"));
  return csv::table(record.keys(), {row});
}

}  // namespace

std::string value_csv(const Value& value) {
  if (value.is<torch::Tensor>()) return csv::table({}, tensor_rows(value.as<torch::Tensor>()));
  if (value.is<RecordPtr>()) return record_csv(*value.as<RecordPtr>());
  if (value.is<ListPtr>()) {
    const auto& items = *value.as<ListPtr>();
    if (items.empty()) return "";
    if (!items[0].is<RecordPtr>())
      no_table(std::string("a list of ") + kind_name(items[0].kind()) + "s");
    return records_csv(items);
  }
  no_table(kind_with_article(value.kind()));
}

}  // namespace perturb::lang
