#include "interpreter/utf8.h"

namespace perturb::lang {
namespace {

// The length of the well-formed UTF-8 sequence at text[i], or 0 when there is none.
size_t utf8_sequence_at(const std::string& text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) second_high = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) second_high = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 (overlong ASCII) or F5..FF
  }
  if (i + length > text.size() || byte(1) < second_low || byte(1) > second_high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

size_t invalid_utf8_at(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = utf8_sequence_at(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string::npos;
}

}  // namespace perturb::lang
