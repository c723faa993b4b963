#pragma once
// Script values as JSON, for save(value, "x.json"): results go on to Python's json.load.

#include <string>

#include "interpreter/value.h"
#include "runtime/report/json.h"

namespace perturb::lang {

// none → null, bools, numbers (whole ones as integers, non-finite ones as null), strings, lists
// → arrays, records → objects in field order, tensors → nested lists of their numbers (a 0-d
// tensor → one number, a bool tensor → bools), reports and certificates → the JSON they save
// as. Any other value is an Error naming where it sits: "item 2's field 'net' is a model".
json::Json value_json(const Value& value);

}  // namespace perturb::lang
