// JSON written with nlohmann-json: reports, certificates and saved values build a Json value and
// dump it, so quoting and number text are the library's, not ours.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace perturb::json {

// Members keep the order they were added in: a report lists its fields as it builds them.
using Json = nlohmann::ordered_json;

// A double as JSON, which has no NaN or infinity: non-finite numbers become null.
Json number(double v);

// Compact text ({"a":1,"b":[0.5,null]}), doubles as their shortest round-trip text. Strings are
// written as UTF-8; a byte that is not valid UTF-8 becomes U+FFFD rather than failing the save.
std::string dump(const Json& value, int indent = -1);

}  // namespace perturb::json
