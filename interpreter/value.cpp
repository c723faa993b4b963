#include "interpreter/value.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "interpreter/kinds.h"

namespace perturb::lang {

const char* kind_name(Kind kind) {
  return descriptor_of(kind).name.c_str();
}

std::string kind_with_article(Kind kind) {
  return descriptor_of(kind).with_article;
}

std::vector<Kind> kinds_in(Kinds kinds) {
  std::vector<Kind> out;
  for (const auto& [bit, descriptor] : kind_registry().all()) {
    if (kinds & bit) out.push_back(descriptor.kind);
  }
  return out;
}

std::string kinds_text(Kinds kinds) {
  if (kinds == kAnyKind) return "any value";
  std::vector<Kind> list = kinds_in(kinds);
  std::string text;
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) text += (i + 1 == list.size()) ? " or " : ", ";
    text += kind_with_article(list[i]);
  }
  return text;
}

std::vector<std::string> Object::field_names() const {
  return descriptor_of(kind()).field_names();
}

Kind Value::kind() const {
  switch (data.index()) {
    case 0:
      return Kind::kNone;
    case 1:
      return Kind::kBool;
    case 2:
      return Kind::kNumber;
    case 3:
      return Kind::kString;
    case 4:
      return Kind::kList;
    case 5:
      return Kind::kRecord;
    case 6:
      return Kind::kRange;
    case 7:
      return Kind::kFunction;
    case 8:
      return Kind::kTensor;
    default:
      return as<ObjectPtr>()->kind();
  }
}

Value make_list(std::vector<Value> items) {
  return Value(std::make_shared<std::vector<Value>>(std::move(items)));
}

const Value* Record::find(const std::string& key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Record::set(const std::string& key, Value value) {
  for (auto& [k, v] : fields) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  fields.emplace_back(key, std::move(value));
}

std::vector<std::string> Record::keys() const {
  std::vector<std::string> out;
  for (const auto& field : fields) out.push_back(field.first);
  return out;
}

std::string format_number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0) return "0";  // also turns -0 into 0
  char buffer[32];
  // Whole numbers print whole (3628800, not 3.6288e+06); others with six significant digits.
  if (x == std::floor(x) && std::abs(x) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", x);
    return buffer;
  }
  std::snprintf(buffer, sizeof buffer, "%.6g", x);
  return buffer;
}

namespace {

constexpr int64_t kMaxPrintedElements = 20;

// A mask prints as the language's booleans, as torch prints True/False.
void format_elements(std::ostringstream& out, const torch::Tensor& t, bool as_bool) {
  if (t.dim() == 0) {
    const double v = t.item<double>();
    out << (as_bool ? (v != 0 ? "true" : "false") : format_number(v));
    return;
  }
  out << "[";
  for (int64_t i = 0; i < t.size(0); ++i) {
    if (i > 0) out << ", ";
    format_elements(out, t[i], as_bool);
  }
  out << "]";
}

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream out;
  out << "[";
  for (int64_t d = 0; d < t.dim(); ++d) out << (d ? ", " : "") << t.size(d);
  out << "]";
  return out.str();
}

std::string dtype_text(const torch::Tensor& t) {
  std::string name = c10::toString(t.scalar_type());
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  if (name == "float") return "float32";
  if (name == "double") return "float64";
  if (name == "long") return "int64";
  if (name == "int") return "int32";
  return name;
}

}  // namespace

std::string format_tensor(const torch::Tensor& tensor) {
  if (!tensor.defined()) return "tensor(undefined)";
  torch::NoGradGuard no_grad;
  torch::Tensor t = tensor.detach().to(torch::kCPU);
  const bool is_mask = t.scalar_type() == torch::kBool;
  if (is_mask) t = t.to(torch::kInt64);
  std::ostringstream out;
  if (t.numel() <= kMaxPrintedElements) {
    out << "tensor(";
    format_elements(out, t.to(torch::kFloat64), is_mask);
    out << ")";
    return out.str();
  }
  torch::Tensor as_double = t.to(torch::kFloat64);
  out << "tensor(shape " << shape_text(t) << ", " << dtype_text(tensor) << ", min "
      << format_number(as_double.min().item<double>()) << ", max "
      << format_number(as_double.max().item<double>()) << ", mean "
      << format_number(as_double.mean().item<double>()) << ")";
  return out.str();
}

std::string format_value(const Value& value, bool quote_strings) {
  switch (value.data.index()) {
    case 0:
      return "none";
    case 1:
      return value.as<bool>() ? "true" : "false";
    case 2:
      return format_number(value.as<double>());
    case 3: {
      if (!quote_strings) return value.as<std::string>();
      std::string quoted = "\"";
      for (char c : value.as<std::string>()) {
        if (c == '"' || c == '\\') quoted += '\\';
        if (c == '\n') {
          quoted += "\\n";
          continue;
        }
        quoted += c;
      }
      return quoted + "\"";
    }
    case 4: {
      std::string out = "[";
      const auto& items = *value.as<ListPtr>();
      for (size_t i = 0; i < items.size(); ++i) {
        out += (i ? ", " : "") + format_value(items[i], true);
      }
      return out + "]";
    }
    case 5: {
      std::string out = "{";
      const auto& fields = value.as<RecordPtr>()->fields;
      for (size_t i = 0; i < fields.size(); ++i) {
        out += (i ? ", " : "") + fields[i].first + ": " + format_value(fields[i].second, true);
      }
      return out + "}";
    }
    case 6: {
      const auto& r = value.as<RangeValue>();
      return format_number(r.lo) + ".." + format_number(r.hi);
    }
    case 7:
      return value.as<CallablePtr>()->describe();
    case 8:
      return format_tensor(value.as<torch::Tensor>());
    default:
      return value.as<ObjectPtr>()->describe();
  }
}

std::string describe_type(const Value& value) {
  if (value.is<torch::Tensor>()) {
    const auto& t = value.as<torch::Tensor>();
    if (!t.defined()) return "tensor";
    return "tensor " + shape_text(t) + " " + dtype_text(t) +
           (t.device().is_cuda() ? " (" + t.device().str() + ")" : "");
  }
  return kind_name(value.kind());
}

bool values_equal(const Value& a, const Value& b) {
  if (a.data.index() != b.data.index()) return false;
  switch (a.data.index()) {
    case 0:
      return true;
    case 1:
      return a.as<bool>() == b.as<bool>();
    case 2:
      return a.as<double>() == b.as<double>();
    case 3:
      return a.as<std::string>() == b.as<std::string>();
    case 4: {
      const auto& x = *a.as<ListPtr>();
      const auto& y = *b.as<ListPtr>();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!values_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case 5: {
      const auto& x = *a.as<RecordPtr>();
      const auto& y = *b.as<RecordPtr>();
      if (x.fields.size() != y.fields.size()) return false;
      for (const auto& [k, v] : x.fields) {
        const Value* other = y.find(k);
        if (!other || !values_equal(v, *other)) return false;
      }
      return true;
    }
    case 6:
      return a.as<RangeValue>().lo == b.as<RangeValue>().lo &&
             a.as<RangeValue>().hi == b.as<RangeValue>().hi;
    case 7:
      return a.as<CallablePtr>() == b.as<CallablePtr>();
    case 8:
      return a.as<torch::Tensor>().is_same(b.as<torch::Tensor>());
    default:
      return a.as<ObjectPtr>() == b.as<ObjectPtr>();
  }
}

bool truthy(const Value& value) {
  switch (value.data.index()) {
    case 0:
      return false;
    case 1:
      return value.as<bool>();
    case 2:
      return value.as<double>() != 0;
    case 3:
      return !value.as<std::string>().empty();
    case 4:
      return !value.as<ListPtr>()->empty();
    default:
      return true;
  }
}

}  // namespace perturb::lang
