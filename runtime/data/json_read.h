// A small JSON reader (RFC 8259) for captions files: objects, arrays, strings with every escape
// (\uXXXX with surrogate pairs → UTF-8), numbers, true/false/null. Errors name the file, line
// and column.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace perturb {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;  // the string, or a number's literal text
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;  // in file order

  // The member `key` of an object, or nullptr (also when this is not an object).
  const JsonValue* find(const std::string& key) const;
  bool is_string() const { return type == Type::kString; }
  bool is_array() const { return type == Type::kArray; }
  bool is_object() const { return type == Type::kObject; }
  bool is_number() const { return type == Type::kNumber; }
};

// Parses `text`; `source` names it in errors ("captions.json:3:14: expected ':'").
JsonValue parse_json(const std::string& text, const std::string& source);

}  // namespace perturb
