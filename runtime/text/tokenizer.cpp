// The word-level tokenizer of the built-in data, caption word splitting, and reading tokenizers
// back from their serialized text. CLIP's BPE tokenizer lives in tokenizer_bpe.cpp.
#include "runtime/text/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "runtime/core/error.h"
#include "runtime/text/tokenizer_internal.h"
#include "runtime/text/wordnet.h"

namespace perturb {
namespace {

constexpr int64_t kPad = 0;
constexpr int64_t kUnk = 1;
constexpr int64_t kStart = 2;
constexpr int64_t kEnd = 3;
constexpr const char* kWordHeader = "word_tokenizer v1";

class WordTokenizer : public Tokenizer {
 public:
  WordTokenizer(std::vector<std::string> words, int64_t max_length)
      : words_(std::move(words)), max_length_(max_length) {
    if (max_length_ < 2) {
      throw Error("a tokenizer needs a length of at least 2 (start and end markers), got " +
                  std::to_string(max_length_));
    }
    for (size_t i = 0; i < words_.size(); ++i) ids_[words_[i]] = static_cast<int64_t>(i);
  }

  TokenBatch encode(const std::vector<std::string>& texts) const override {
    const auto n = static_cast<int64_t>(texts.size());
    torch::Tensor ids = torch::full({n, max_length_}, kPad, torch::kInt64);
    torch::Tensor mask = torch::zeros({n, max_length_}, torch::kInt64);
    auto* id = ids.data_ptr<int64_t>();
    auto* on = mask.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      std::vector<int64_t> row = {kStart};
      for (const auto& word : split_words(texts[i])) {
        if (static_cast<int64_t>(row.size()) >= max_length_ - 1) break;
        auto it = ids_.find(word);
        row.push_back(it == ids_.end() ? kUnk : it->second);
      }
      row.push_back(kEnd);
      for (size_t j = 0; j < row.size(); ++j) {
        id[i * max_length_ + static_cast<int64_t>(j)] = row[j];
        on[i * max_length_ + static_cast<int64_t>(j)] = 1;
      }
    }
    return {ids, mask};
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(words_.size()); }
  int64_t max_length() const override { return max_length_; }
  std::string describe() const override {
    return "word_tokenizer(vocab: " + std::to_string(vocab_size()) +
           ", length: " + std::to_string(max_length_) + ")";
  }
  std::string serialize() const override {
    std::ostringstream out;
    out << kWordHeader << "\nlength " << max_length_ << "\nwords " << words_.size() - 4 << "\n";
    for (size_t i = 4; i < words_.size(); ++i) out << words_[i] << "\n";
    return out.str();
  }

 private:
  std::vector<std::string> words_;  // by id
  std::unordered_map<std::string, int64_t> ids_;
  int64_t max_length_;
};

std::vector<std::string> special_words() {
  return {"<pad>", "<unk>", "<start>", "<end>"};
}

TokenizerPtr read_word_tokenizer(std::istringstream& in) {
  std::string key;
  int64_t length = 0;
  size_t count = 0;
  if (!(in >> key >> length) || key != "length" || !(in >> key >> count) || key != "words") {
    throw Error("a saved word tokenizer is malformed (expected 'length N' and 'words N')");
  }
  auto words = special_words();
  std::string word;
  std::getline(in, word);  // rest of the count line
  while (words.size() < count + 4 && std::getline(in, word)) words.push_back(word);
  if (words.size() != count + 4) {
    throw Error("a saved word tokenizer is truncated: " + std::to_string(words.size() - 4) +
                " of " + std::to_string(count) + " words");
  }
  return std::make_shared<WordTokenizer>(std::move(words), length);
}

bool is_punct(unsigned char c) {
  return std::ispunct(c) != 0;
}

}  // namespace

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t begin = 0;
    size_t end = word.size();
    while (begin < end && is_punct(static_cast<unsigned char>(word[begin]))) ++begin;
    while (end > begin && is_punct(static_cast<unsigned char>(word[end - 1]))) --end;
    if (begin == end) continue;
    std::string w = word.substr(begin, end - begin);
    for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(std::move(w));
  }
  return out;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

TokenizerPtr make_word_tokenizer(const std::vector<std::string>& corpus, int64_t max_length,
                                 int64_t min_count, bool with_synonyms) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& text : corpus) {
    for (auto& word : split_words(text)) ++counts[word];
  }
  // Most frequent first, ties alphabetical, so the ids depend only on the corpus.
  std::vector<std::pair<std::string, int64_t>> kept;
  for (const auto& [word, count] : counts) {
    if (count >= min_count) kept.emplace_back(word, count);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  auto words = special_words();
  std::unordered_set<std::string> known(words.begin(), words.end());
  for (const auto& entry : kept) {
    words.push_back(entry.first);
    known.insert(entry.first);
  }
  if (with_synonyms) {
    std::vector<std::string> extra;
    const WordNet& wordnet = WordNet::shared();
    for (const auto& entry : kept) {
      for (auto& synonym : wordnet.synonyms(entry.first)) {
        if (known.insert(synonym).second) extra.push_back(std::move(synonym));
      }
    }
    std::sort(extra.begin(), extra.end());
    words.insert(words.end(), extra.begin(), extra.end());
  }
  return std::make_shared<WordTokenizer>(std::move(words), max_length);
}

TokenizerPtr deserialize_tokenizer(const std::string& text) {
  std::istringstream in(text);
  std::string header;
  std::getline(in, header);
  if (header == kWordHeader) return read_word_tokenizer(in);
  if (header == kClipBpeHeader) return read_clip_bpe(in);
  throw Error("not a saved tokenizer (first line '" + header.substr(0, 40) + "')");
}

}  // namespace perturb
