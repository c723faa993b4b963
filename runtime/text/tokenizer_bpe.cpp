// CLIP's tokenizer (Radford et al. 2021; openai/CLIP simple_tokenizer.py), written from its
// algorithm: text cleaned (HTML entities, runs of whitespace) and lower-cased, split by CLIP's
// pattern  <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+ ,
// each piece's UTF-8 bytes mapped to printable characters (bytes_to_unicode), then merged pair
// by pair, lowest merge rank first, with '</w>' marking the end of the word.
// Deviations: no ftfy repair of broken unicode; letters are classified by glibc's C.UTF-8
// locale, \p{N} is taken as the ASCII digits, spaces are Python's str.isspace characters.
#include <locale.h>
#include <wctype.h>
#include <cctype>
#include <clocale>
#include <cwctype>
#include <fstream>
#include <limits>
#include <map>
#include <unordered_map>

#include <zlib.h>

#include "runtime/core/error.h"
#include "runtime/text/tokenizer_internal.h"
#include "runtime/text/utf8.h"

namespace perturb {
namespace {

constexpr size_t kMaxMerges = 49152 - 256 - 2;  // lines 1..48894 of the vocab file
const std::string kStartToken = "<|startoftext|>";
const std::string kEndToken = "<|endoftext|>";

locale_t utf8_locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

bool is_letter(char32_t c) {
  if (c < 128) return std::isalpha(static_cast<int>(c)) != 0;
  return utf8_locale() && iswalpha_l(static_cast<wint_t>(c), utf8_locale());
}
bool is_digit(char32_t c) {
  return c >= '0' && c <= '9';
}
// Python's str.isspace (what \s matches in CLIP's whitespace_clean and pattern).
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}
char32_t to_lower(char32_t c) {
  if (c < 128) return static_cast<char32_t>(std::tolower(static_cast<int>(c)));
  if (!utf8_locale()) return c;
  return static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), utf8_locale()));
}

// bytes_to_unicode: the printable bytes map to themselves, the other 68 to U+0100 onwards.
// Returns the code point of each byte, in the order CLIP lists them (the first 256 ids).
std::vector<std::pair<int, char32_t>> byte_table() {
  std::vector<std::pair<int, char32_t>> table;
  std::vector<bool> printable(256, false);
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  for (int b = 0; b < 256; ++b) {
    if (printable[b]) table.emplace_back(b, static_cast<char32_t>(b));
  }
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    if (!printable[b]) table.emplace_back(b, static_cast<char32_t>(256 + n++));
  }
  return table;
}

// html.unescape for the entities captions carry (named basics and numeric ones).
std::string html_unescape(const std::string& s) {
  static const std::map<std::string, std::string> named = {
      {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\xC2\xA0"}};
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      if (semi != std::string::npos && semi - i <= 10) {
        const std::string name = s.substr(i + 1, semi - i - 1);
        auto it = named.find(name);
        if (it != named.end()) {
          out += it->second;
          i = semi + 1;
          continue;
        }
        if (name.size() > 1 && name[0] == '#') {
          try {
            const bool hex = name[1] == 'x' || name[1] == 'X';
            const unsigned long code = std::stoul(name.substr(hex ? 2 : 1), nullptr, hex ? 16 : 10);
            if (code > 0 && code < 0x110000) {
              append_utf8(out, static_cast<char32_t>(code));
              i = semi + 1;
              continue;
            }
          } catch (const std::exception&) {
          }
        }
      }
    }
    out += s[i++];
  }
  return out;
}

// basic_clean + whitespace_clean + lower().
std::u32string clean(const std::string& text) {
  const std::u32string decoded = decode_utf8(html_unescape(html_unescape(text)));
  std::u32string out;
  bool space = false;
  for (char32_t c : decoded) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(to_lower(c));
  }
  return out;
}

bool starts_with(const std::u32string& s, size_t at, const std::string& ascii) {
  if (at + ascii.size() > s.size()) return false;
  for (size_t k = 0; k < ascii.size(); ++k) {
    if (s[at + k] != static_cast<char32_t>(ascii[k])) return false;
  }
  return true;
}

// re.findall(pat, text) with CLIP's pattern, alternatives tried in order at each position.
std::vector<std::u32string> split_pieces(const std::u32string& s) {
  static const std::vector<std::string> contractions = {"'s", "'t",  "'re", "'ve",
                                                        "'m", "'ll", "'d"};
  std::vector<std::u32string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    if (starts_with(s, i, kStartToken)) {
      len = kStartToken.size();
    } else if (starts_with(s, i, kEndToken)) {
      len = kEndToken.size();
    } else {
      for (const auto& c : contractions) {
        if (starts_with(s, i, c)) {
          len = c.size();
          break;
        }
      }
    }
    if (len == 0) {
      if (is_letter(s[i])) {
        while (i + len < s.size() && is_letter(s[i + len])) ++len;
      } else if (is_digit(s[i])) {
        len = 1;
      } else if (!is_space(s[i])) {
        while (i + len < s.size() && !is_space(s[i + len]) && !is_letter(s[i + len]) &&
               !is_digit(s[i + len])) {
          ++len;
        }
      }
    }
    if (len == 0) {
      ++i;  // whitespace between pieces
      continue;
    }
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string read_maybe_gzip(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw IoError("cannot read the BPE vocabulary file " + path);
  }
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain files unchanged
  if (!file) throw IoError("cannot read the BPE vocabulary file " + path);
  std::string out;
  char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, got);
  const bool failed = got < 0;
  gzclose(file);
  if (failed) throw IoError("the BPE vocabulary file " + path + " is not valid gzip");
  return out;
}

class ClipBpe : public Tokenizer {
 public:
  ClipBpe(std::vector<std::pair<std::string, std::string>> merges, int64_t max_length,
          std::string source)
      : merges_(std::move(merges)), max_length_(max_length), source_(std::move(source)) {
    if (max_length_ < 2) {
      throw Error("a tokenizer needs a length of at least 2 (start and end markers), got " +
                  std::to_string(max_length_));
    }
    for (const auto& [byte, code] : byte_table()) {
      std::string symbol;
      append_utf8(symbol, code);
      byte_symbol_[byte] = symbol;
      add(symbol);
    }
    for (const auto& [byte, code] : byte_table()) add(byte_symbol_[byte] + "</w>");
    for (size_t r = 0; r < merges_.size(); ++r) {
      ranks_[merges_[r].first + " " + merges_[r].second] = static_cast<int64_t>(r);
      add(merges_[r].first + merges_[r].second);
    }
    start_id_ = add(kStartToken);
    end_id_ = add(kEndToken);
  }

  // CLIP's encode(text): ids without start and end markers.
  std::vector<int64_t> encode_one(const std::string& text) const {
    std::vector<int64_t> out;
    for (const auto& piece : split_pieces(clean(text))) {
      const std::string utf8 = encode_utf8(piece);
      if (utf8 == kStartToken || utf8 == kEndToken) {
        out.push_back(utf8 == kStartToken ? start_id_ : end_id_);
        continue;
      }
      std::vector<std::string> word;
      for (unsigned char b : utf8) word.push_back(byte_symbol_[b]);
      word.back() += "</w>";
      for (const auto& symbol : merge(std::move(word))) {
        auto it = ids_.find(symbol);
        if (it == ids_.end()) {
          throw Error("clip_bpe: the symbol '" + symbol + "' is not in the vocabulary of " +
                      source_ + " (too few merges?)");
        }
        out.push_back(it->second);
      }
    }
    return out;
  }

  TokenBatch encode(const std::vector<std::string>& texts) const override {
    const auto n = static_cast<int64_t>(texts.size());
    torch::Tensor ids = torch::zeros({n, max_length_}, torch::kInt64);
    torch::Tensor mask = torch::zeros({n, max_length_}, torch::kInt64);
    auto* id = ids.data_ptr<int64_t>();
    auto* on = mask.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      std::vector<int64_t> row = {start_id_};
      auto body = encode_one(texts[i]);
      row.insert(row.end(), body.begin(), body.end());
      row.push_back(end_id_);
      if (static_cast<int64_t>(row.size()) > max_length_) {  // CLIP: truncate, end marker last
        row.resize(max_length_);
        row.back() = end_id_;
      }
      for (size_t j = 0; j < row.size(); ++j) {
        id[i * max_length_ + static_cast<int64_t>(j)] = row[j];
        on[i * max_length_ + static_cast<int64_t>(j)] = 1;
      }
    }
    return {ids, mask};
  }

  // The number of ids (49408 for CLIP's file), the size of a text encoder's embedding table.
  int64_t vocab_size() const override { return next_id_; }
  int64_t max_length() const override { return max_length_; }
  std::string describe() const override { return "clip_bpe('" + source_ + "')"; }
  std::string serialize() const override {
    std::string out = std::string(kClipBpeHeader) + "\nlength " + std::to_string(max_length_) +
                      "\nsource " + source_ + "\nmerges " + std::to_string(merges_.size()) + "\n";
    for (const auto& [a, b] : merges_) out += a + " " + b + "\n";
    return out;
  }

 private:
  // The next id; a symbol listed twice keeps its last id, as CLIP's dict(zip(vocab, ids)) does.
  int64_t add(const std::string& symbol) {
    const int64_t id = next_id_++;
    ids_[symbol] = id;
    return id;
  }

  // bpe(token): repeatedly merge the adjacent pair of lowest rank until none is in the table.
  std::vector<std::string> merge(std::vector<std::string> word) const {
    while (word.size() > 1) {
      int64_t best = std::numeric_limits<int64_t>::max();
      std::string first;
      std::string second;
      for (size_t k = 0; k + 1 < word.size(); ++k) {
        auto it = ranks_.find(word[k] + " " + word[k + 1]);
        if (it != ranks_.end() && it->second < best) {
          best = it->second;
          first = word[k];
          second = word[k + 1];
        }
      }
      if (best == std::numeric_limits<int64_t>::max()) break;
      std::vector<std::string> merged;
      for (size_t k = 0; k < word.size();) {
        if (k + 1 < word.size() && word[k] == first && word[k + 1] == second) {
          merged.push_back(first + second);
          k += 2;
        } else {
          merged.push_back(word[k]);
          k += 1;
        }
      }
      word = std::move(merged);
    }
    return word;
  }

  std::vector<std::pair<std::string, std::string>> merges_;
  int64_t max_length_;
  std::string source_;
  std::string byte_symbol_[256];
  std::unordered_map<std::string, int64_t> ids_;
  std::unordered_map<std::string, int64_t> ranks_;
  int64_t next_id_ = 0;
  int64_t start_id_ = 0;
  int64_t end_id_ = 0;
};

// The merges on lines 1..48894 of the vocabulary text (line 0 is "#version: ..."); blank lines
// are skipped (CLIP's own file has none in that range).
std::vector<std::pair<std::string, std::string>> parse_merges(const std::string& text,
                                                              const std::string& source) {
  std::vector<std::pair<std::string, std::string>> merges;
  size_t start = 0;
  size_t line_number = 0;
  while (start <= text.size() && line_number <= kMaxMerges) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number > 0 && !line.empty()) {
      const size_t space = line.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
          line.find(' ', space + 1) != std::string::npos) {
        throw Error(source + ":" + std::to_string(line_number + 1) +
                    ": a BPE merge line must be two symbols separated by one space, got '" +
                    line.substr(0, 60) + "'");
      }
      merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    }
    ++line_number;
    if (end == text.size()) break;
    start = end + 1;
  }
  return merges;
}

}  // namespace

TokenizerPtr load_clip_bpe(const std::string& vocab_path, int64_t max_length) {
  const std::string text = read_maybe_gzip(vocab_path);
  if (text.rfind("#version", 0) != 0) {
    throw Error(vocab_path +
                " is not a CLIP BPE vocabulary (its first line should be '#version: "
                "0.2', the header of bpe_simple_vocab_16e6.txt)");
  }
  return std::make_shared<ClipBpe>(parse_merges(text, vocab_path), max_length, vocab_path);
}

TokenizerPtr read_clip_bpe(std::istringstream& in) {
  std::string key;
  int64_t length = 0;
  std::string source;
  size_t count = 0;
  if (!(in >> key >> length) || key != "length" || !(in >> key) || key != "source") {
    throw Error("a saved CLIP tokenizer is malformed (expected 'length N' and 'source PATH')");
  }
  std::getline(in >> std::ws, source);
  if (!(in >> key >> count) || key != "merges") {
    throw Error("a saved CLIP tokenizer is malformed (expected 'merges N')");
  }
  std::string line;
  std::getline(in, line);
  std::vector<std::pair<std::string, std::string>> merges;
  while (merges.size() < count && std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos) throw Error("a saved CLIP tokenizer has a malformed merge");
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  if (merges.size() != count) throw Error("a saved CLIP tokenizer is truncated");
  return std::make_shared<ClipBpe>(std::move(merges), length, source);
}

}  // namespace perturb
