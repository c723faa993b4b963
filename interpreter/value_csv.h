#pragma once
// Script values as CSV tables (RFC 4180), for save(value, "t.csv"): results go on to
// pandas.read_csv and Python's csv module.

#include <string>

#include "interpreter/value.h"

namespace perturb::lang {

// The shapes that have a table, for errors and docs.
extern const char* const kCsvShapes;

// A list of records with the same keys: a header of the first record's keys, one row per
// record. A record whose fields are all lists or 1-D tensors of one length: its fields are the
// columns. A record of single values: one row. A 1-D or 2-D tensor: its numbers, one row per
// element or row, no header. A cell is a number, string, bool, none (empty) or a one-element
// tensor. Error naming the value and kCsvShapes otherwise.
std::string value_csv(const Value& value);

}  // namespace perturb::lang
