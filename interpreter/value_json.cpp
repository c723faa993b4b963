#include "interpreter/value_json.h"

#include <cmath>

#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/certify.h"
#include "interpreter/builtins/mmattack.h"
#include "runtime/core/error.h"

namespace perturb::lang {
namespace {

// The language has one number type; a whole number is written as an integer (3, not 3.0) so
// counts and labels read back in Python as ints.
json::Json number_json(double x) {
  if (x == std::trunc(x) && std::abs(x) < 9007199254740992.0) return static_cast<int64_t>(x);
  return json::number(x);
}

// Dimension `dim` of a tensor whose elements `leaf` turns into JSON, from element `offset` on
// (row-major).
template <typename Leaf>
json::Json nested(const std::vector<int64_t>& sizes, size_t dim, const Leaf& leaf,
                  int64_t& offset) {
  if (dim == sizes.size()) return leaf(offset++);
  json::Json out = json::Json::array();
  for (int64_t i = 0; i < sizes[dim]; ++i) out.push_back(nested(sizes, dim + 1, leaf, offset));
  return out;
}

json::Json tensor_json(const torch::Tensor& tensor, const std::string& where) {
  torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  const std::vector<int64_t> sizes = t.sizes().vec();
  int64_t offset = 0;
  if (t.scalar_type() == torch::kBool) {
    const bool* data = t.data_ptr<bool>();
    return nested(
        sizes, 0, [data](int64_t i) { return json::Json(data[i]); }, offset);
  }
  if (t.is_complex()) throw Error(where + " is a complex tensor, which JSON has no numbers for");
  if (!t.is_floating_point()) {
    t = t.to(torch::kInt64);
    const int64_t* data = t.data_ptr<int64_t>();
    return nested(
        sizes, 0, [data](int64_t i) { return json::Json(data[i]); }, offset);
  }
  t = t.to(torch::kFloat64);
  const double* data = t.data_ptr<double>();
  return nested(
      sizes, 0, [data](int64_t i) { return json::number(data[i]); }, offset);
}

// Reports and certificates save as JSON already: the same text, nested.
json::Json object_json(const Value& value, const std::string& where) {
  if (auto report = value.object<ReportObject>()) return json::Json::parse(report->report.json());
  if (auto table = value.object<ItrTableObject>()) return json::Json::parse(table->table.json());
  if (auto cert = value.object<CertificateObject>()) return json::Json::parse(cert->cert.json());
  throw Error(where + " is " + kind_with_article(value.kind()) +
              "; JSON holds numbers, strings, bools, none, lists, records, tensors, reports and "
              "certificates");
}

json::Json to_json(const Value& value, const std::string& where);

std::string inside(const std::string& where, const std::string& part) {
  return where == "the value" ? part : where + "'s " + part;
}

json::Json list_json(const std::vector<Value>& items, const std::string& where) {
  json::Json out = json::Json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    out.push_back(to_json(items[i], inside(where, "item " + std::to_string(i))));
  }
  return out;
}

json::Json record_json(const Record& record, const std::string& where) {
  json::Json out = json::Json::object();
  for (const auto& [key, field] : record.fields) {
    out[key] = to_json(field, inside(where, "field '" + key + "'"));
  }
  return out;
}

json::Json to_json(const Value& value, const std::string& where) {
  if (value.is_none()) return nullptr;
  if (value.is<bool>()) return value.as<bool>();
  if (value.is<double>()) return number_json(value.as<double>());
  if (value.is<std::string>()) return value.as<std::string>();
  if (value.is<ListPtr>()) return list_json(*value.as<ListPtr>(), where);
  if (value.is<RecordPtr>()) return record_json(*value.as<RecordPtr>(), where);
  if (value.is<torch::Tensor>()) return tensor_json(value.as<torch::Tensor>(), where);
  return object_json(value, where);
}

}  // namespace

json::Json value_json(const Value& value) {
  return to_json(value, "the value");
}

}  // namespace perturb::lang
