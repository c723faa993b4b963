// WordNet synonyms from Debian's wordnet-base database files (/usr/share/wordnet), read once.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace perturb {

constexpr const char* kWordNetDir = "/usr/share/wordnet";

class WordNet {
 public:
  // The database at kWordNetDir, loaded on first use. Throws IoError naming the Debian package
  // wordnet-base when the files are missing.
  static const WordNet& shared();
  explicit WordNet(const std::string& dir);

  // Single-word synonyms of `word` (lower case, base form through the exception lists) over
  // all its senses and parts of speech, most frequent sense first, without `word` itself and
  // without duplicates. Empty for unknown words and stop words.
  std::vector<std::string> synonyms(const std::string& word) const;
  bool contains(const std::string& word) const;

 private:
  struct Data;
  std::shared_ptr<const Data> data_;
};

}  // namespace perturb
