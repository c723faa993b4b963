#pragma once
// Scripts are strict UTF-8 (Unicode's Table 3-7): the parser rejects anything else with a
// located error before ANTLR's decoder sees it.

#include <cstddef>
#include <string>

namespace perturb::lang {

// The position of the first byte that is not well-formed UTF-8 (an overlong form, a surrogate,
// a code point above U+10FFFF, a stray or missing continuation byte), or npos.
size_t invalid_utf8_at(const std::string& text);

}  // namespace perturb::lang
