// WordNet 3.0 database reader (Princeton's file format, wndb(5WN)): the index.<pos> files map a
// lemma to the byte offsets of its synsets in data.<pos>, most frequent sense first; a data line
// lists the synset's lemmas. Index lines are kept as (lemma, position) pairs sorted by lemma;
// data files are kept whole and addressed by offset, so a lookup parses only the lines it needs.
#include "runtime/text/wordnet.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "runtime/core/error.h"

namespace perturb {
namespace {

constexpr std::array<const char*, 4> kPosNames = {"noun", "verb", "adj", "adv"};

// English stop words (the list Wei and Zou's EDA code uses, from NLTK): no synonyms for these.
const std::unordered_set<std::string>& stop_words() {
  static const std::unordered_set<std::string> words = {
      "i",       "me",      "my",      "myself",   "we",         "our",    "ours",    "ourselves",
      "you",     "your",    "yours",   "yourself", "yourselves", "he",     "him",     "his",
      "himself", "she",     "her",     "hers",     "herself",    "it",     "its",     "itself",
      "they",    "them",    "their",   "theirs",   "themselves", "what",   "which",   "who",
      "whom",    "this",    "that",    "these",    "those",      "am",     "is",      "are",
      "was",     "were",    "be",      "been",     "being",      "have",   "has",     "had",
      "having",  "do",      "does",    "did",      "doing",      "a",      "an",      "the",
      "and",     "but",     "if",      "or",       "because",    "as",     "until",   "while",
      "of",      "at",      "by",      "for",      "with",       "about",  "against", "between",
      "into",    "through", "during",  "before",   "after",      "above",  "below",   "to",
      "from",    "up",      "down",    "in",       "out",        "on",     "off",     "over",
      "under",   "again",   "further", "then",     "once",       "here",   "there",   "when",
      "where",   "why",     "how",     "all",      "any",        "both",   "each",    "few",
      "more",    "most",    "other",   "some",     "such",       "no",     "nor",     "not",
      "only",    "own",     "same",    "so",       "than",       "too",    "very",    "s",
      "t",       "can",     "will",    "just",     "don",        "should", "now",     ""};
  return words;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IoError("cannot read the WordNet file " + path +
                  " (install the Debian package wordnet-base)");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A number field of a WordNet line (decimal, or hexadecimal for a word count); IoError naming
// the file when it is not one, so a damaged database is reported, not an internal error.
size_t number_field(std::string_view text, int base, const std::string& file) {
  size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw IoError("the WordNet file " + file + " is damaged: '" + std::string(text.substr(0, 40)) +
                  "' is not a number (reinstall the Debian package wordnet-base)");
  }
  return value;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Tokens of a line separated by single spaces.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string_view line_at(const std::string& text, size_t offset) {
  if (offset >= text.size()) return {};
  size_t end = text.find('\n', offset);
  if (end == std::string::npos) end = text.size();
  return std::string_view(text).substr(offset, end - offset);
}

// A lemma is usable as a single-word substitute: letters, possibly with inner hyphens or
// apostrophes ("t-shirt"), no '_' (multiword), no digits.
bool single_word(const std::string& lemma) {
  if (lemma.empty()) return false;
  for (char c : lemma) {
    if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '-' || c == '\'')) return false;
  }
  return std::isalpha(static_cast<unsigned char>(lemma.front())) &&
         std::isalpha(static_cast<unsigned char>(lemma.back()));
}

// Detachment rules of WordNet's morphy (morph(7WN)), by part of speech.
const std::vector<std::pair<std::string, std::string>>& suffix_rules(size_t pos) {
  static const std::array<std::vector<std::pair<std::string, std::string>>, 4> rules = {{
      {{"s", ""},
       {"ses", "s"},
       {"xes", "x"},
       {"zes", "z"},
       {"ches", "ch"},
       {"shes", "sh"},
       {"men", "man"},
       {"ies", "y"}},
      {{"s", ""},
       {"ies", "y"},
       {"es", "e"},
       {"es", ""},
       {"ed", "e"},
       {"ed", ""},
       {"ing", "e"},
       {"ing", ""}},
      {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
      {},
  }};
  return rules[pos];
}

}  // namespace

struct WordNet::Data {
  std::string dir;
  std::array<std::string, 4> index_text;
  std::array<std::string, 4> data_text;
  // Sorted (lemma, start of its line in index_text).
  std::array<std::vector<std::pair<std::string_view, size_t>>, 4> index;
  std::array<std::unordered_map<std::string, std::vector<std::string>>, 4> exceptions;

  // Synset offsets of `lemma` in part of speech `pos`, most frequent sense first.
  std::vector<size_t> synsets(size_t pos, const std::string& lemma) const {
    const auto& entries = index[pos];
    auto it = std::lower_bound(entries.begin(), entries.end(), std::string_view(lemma),
                               [](const std::pair<std::string_view, size_t>& e,
                                  std::string_view key) { return e.first < key; });
    if (it == entries.end() || it->first != lemma) return {};
    auto parts = fields(line_at(index_text[pos], it->second));
    // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offsets...
    if (parts.size() < 4) return {};
    const std::string file = dir + "/index." + kPosNames[pos];
    const size_t synset_count = number_field(parts[2], 10, file);
    const size_t pointer_count = number_field(parts[3], 10, file);
    if (pointer_count > parts.size()) return {};
    const size_t first = 4 + pointer_count + 2;
    std::vector<size_t> out;
    for (size_t i = first; i < parts.size() && out.size() < synset_count; ++i) {
      out.push_back(number_field(parts[i], 10, file));
    }
    return out;
  }

  // The lemmas of the synset at `offset` in data.<pos>, lower-cased, adjective markers removed.
  std::vector<std::string> lemmas(size_t pos, size_t offset) const {
    auto parts = fields(line_at(data_text[pos], offset));
    // synset_offset lex_filenum ss_type w_cnt(hex) word lex_id ...
    std::vector<std::string> out;
    if (parts.size() < 4) return out;
    const size_t count = number_field(parts[3], 16, dir + "/data." + kPosNames[pos]);
    for (size_t k = 0; k < count && 4 + 2 * k < parts.size(); ++k) {
      std::string word(parts[4 + 2 * k]);
      const size_t paren = word.find('(');  // "(a)", "(p)", "(ip)" syntactic markers
      if (paren != std::string::npos) word.resize(paren);
      out.push_back(lower(word));
    }
    return out;
  }

  bool in_index(size_t pos, const std::string& lemma) const {
    const auto& entries = index[pos];
    auto it = std::lower_bound(entries.begin(), entries.end(), std::string_view(lemma),
                               [](const std::pair<std::string_view, size_t>& e,
                                  std::string_view key) { return e.first < key; });
    return it != entries.end() && it->first == lemma;
  }

  // Base forms of `word` in part of speech `pos` (morphy): the word itself when it is in the
  // index, its exception-list bases, and otherwise the suffix-rule forms that are in the index.
  std::vector<std::string> base_forms(size_t pos, const std::string& word) const {
    std::vector<std::string> out;
    auto add = [&](const std::string& w) {
      if (in_index(pos, w) && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
    };
    add(word);
    auto exc = exceptions[pos].find(word);
    if (exc != exceptions[pos].end()) {
      for (const auto& base : exc->second) add(base);
    }
    if (out.empty()) {
      for (const auto& [suffix, ending] : suffix_rules(pos)) {
        if (word.size() > suffix.size() + 1 &&
            word.compare(word.size() - suffix.size(), suffix.size(), suffix) == 0) {
          add(word.substr(0, word.size() - suffix.size()) + ending);
        }
      }
    }
    return out;
  }
};

WordNet::WordNet(const std::string& dir) {
  auto data = std::make_shared<Data>();
  data->dir = dir;
  for (size_t pos = 0; pos < kPosNames.size(); ++pos) {
    const std::string name = kPosNames[pos];
    data->index_text[pos] = read_file(dir + "/index." + name);
    data->data_text[pos] = read_file(dir + "/data." + name);
    const std::string& text = data->index_text[pos];
    auto& entries = data->index[pos];
    entries.reserve(text.size() / 40);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start && text[start] != ' ') {  // license lines start with two spaces
        const size_t space = text.find(' ', start);
        if (space != std::string::npos && space < end) {
          entries.emplace_back(std::string_view(text).substr(start, space - start), start);
        }
      }
      start = end + 1;
    }
    std::sort(entries.begin(), entries.end());
    const std::string exc = read_file(dir + "/" + name + ".exc");
    std::istringstream lines(exc);
    std::string line;
    while (std::getline(lines, line)) {
      auto parts = fields(line);
      if (parts.size() < 2) continue;
      auto& bases = data->exceptions[pos][std::string(parts[0])];
      for (size_t i = 1; i < parts.size(); ++i) bases.emplace_back(parts[i]);
    }
  }
  data_ = std::move(data);
}

const WordNet& WordNet::shared() {
  static std::once_flag once;
  static std::unique_ptr<WordNet> instance;
  std::call_once(once, [] { instance = std::make_unique<WordNet>(kWordNetDir); });
  return *instance;
}

bool WordNet::contains(const std::string& word) const {
  std::string w = lower(word);
  std::replace(w.begin(), w.end(), ' ', '_');  // "running shoe" is the lemma running_shoe
  for (size_t pos = 0; pos < kPosNames.size(); ++pos) {
    if (!data_->base_forms(pos, w).empty()) return true;
  }
  return false;
}

std::vector<std::string> WordNet::synonyms(const std::string& word) const {
  const std::string w = lower(word);
  if (stop_words().count(w)) return {};
  // Senses of every part of speech, interleaved by rank: every first sense, then every
  // second sense... (the index lists each part of speech's senses most frequent first).
  std::array<std::vector<size_t>, 4> senses;
  std::vector<std::string> bases;
  for (size_t pos = 0; pos < kPosNames.size(); ++pos) {
    for (const auto& base : data_->base_forms(pos, w)) {
      bases.push_back(base);
      for (size_t offset : data_->synsets(pos, base)) {
        if (std::find(senses[pos].begin(), senses[pos].end(), offset) == senses[pos].end()) {
          senses[pos].push_back(offset);
        }
      }
    }
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> seen(bases.begin(), bases.end());
  seen.insert(w);
  size_t longest = 0;
  for (const auto& list : senses) longest = std::max(longest, list.size());
  for (size_t rank = 0; rank < longest; ++rank) {
    for (size_t pos = 0; pos < kPosNames.size(); ++pos) {
      if (rank >= senses[pos].size()) continue;
      for (auto& lemma : data_->lemmas(pos, senses[pos][rank])) {
        if (!single_word(lemma) || !seen.insert(lemma).second) continue;
        out.push_back(std::move(lemma));
      }
    }
  }
  return out;
}

}  // namespace perturb
