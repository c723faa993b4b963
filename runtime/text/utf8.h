// UTF-8 encoding and decoding for the tokenizers and the JSON reader.
#pragma once
#include <string>

namespace perturb {

// UTF-8 → code points; an invalid byte becomes U+FFFD, as Python's decode(errors="replace").
std::u32string decode_utf8(const std::string& s);
// The code point's UTF-8 bytes appended to out.
void append_utf8(std::string& out, char32_t c);
std::string encode_utf8(const std::u32string& s);

}  // namespace perturb
