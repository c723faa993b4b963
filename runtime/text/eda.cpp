// EDA, "Easy Data Augmentation" (Wei and Zou 2019, §2): for a sentence of l words and strength
// α, n = max(1, ⌊α·l⌋) words are changed by one of
//   SR  synonym replacement: n distinct non-stop words each replaced (every occurrence) by a
//       random WordNet synonym;
//   RI  random insertion: n times, a synonym of a random word inserted at a random position;
//   RS  random swap: n times, two random words swapped;
//   RD  random deletion: each word removed with probability α (one word is kept at least).
// The operation is drawn uniformly; all draws come from one stream seeded by `gen`.
#include "runtime/text/eda.h"

#include "runtime/text/eda_ops.h"

#include <algorithm>
#include <random>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/wordnet.h"

namespace perturb {
namespace {

using Rng = std::mt19937_64;

size_t uniform_index(Rng& rng, size_t count) {
  return static_cast<size_t>(rng() % count);
}

double uniform01(Rng& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

std::vector<std::string> synonym_replacement(std::vector<std::string> words, size_t n, Rng& rng) {
  const WordNet& wordnet = WordNet::shared();
  std::vector<std::string> candidates;
  for (const auto& w : words) {
    if (std::find(candidates.begin(), candidates.end(), w) == candidates.end()) {
      candidates.push_back(w);
    }
  }
  for (size_t k = candidates.size(); k > 1; --k) {
    std::swap(candidates[k - 1], candidates[uniform_index(rng, k)]);
  }
  size_t replaced = 0;
  for (const auto& word : candidates) {
    const auto synonyms = wordnet.synonyms(word);  // empty for stop words
    if (synonyms.empty()) continue;
    const std::string& synonym = synonyms[uniform_index(rng, synonyms.size())];
    for (auto& w : words) {
      if (w == word) w = synonym;
    }
    if (++replaced >= n) break;
  }
  return words;
}

std::vector<std::string> random_insertion(std::vector<std::string> words, size_t n, Rng& rng) {
  const WordNet& wordnet = WordNet::shared();
  for (size_t k = 0; k < n; ++k) {
    std::vector<std::string> synonyms;
    for (int tries = 0; tries < 10 && synonyms.empty(); ++tries) {
      synonyms = wordnet.synonyms(words[uniform_index(rng, words.size())]);
    }
    if (synonyms.empty()) break;
    const std::string synonym = synonyms[uniform_index(rng, synonyms.size())];
    words.insert(words.begin() + static_cast<std::ptrdiff_t>(uniform_index(rng, words.size() + 1)),
                 synonym);
  }
  return words;
}

std::vector<std::string> random_swap(std::vector<std::string> words, size_t n, Rng& rng) {
  if (words.size() < 2) return words;
  for (size_t k = 0; k < n; ++k) {
    const size_t a = uniform_index(rng, words.size());
    size_t b = uniform_index(rng, words.size() - 1);
    if (b >= a) ++b;  // a different position
    std::swap(words[a], words[b]);
  }
  return words;
}

std::vector<std::string> random_deletion(const std::vector<std::string>& words, double p,
                                         Rng& rng) {
  if (words.size() < 2) return words;
  std::vector<std::string> kept;
  for (const auto& w : words) {
    if (uniform01(rng) > p) kept.push_back(w);
  }
  if (kept.empty()) kept.push_back(words[uniform_index(rng, words.size())]);
  return kept;
}

void check_alpha(double alpha) {
  if (!(alpha > 0.0 && alpha <= 1.0)) {
    throw Error("EDA strength alpha must be in (0, 1], got " + std::to_string(alpha));
  }
}

std::string apply(const std::string& text, EdaOp op, double alpha, Rng& rng) {
  std::vector<std::string> words = split_words(text);
  if (words.empty()) return text;
  const size_t n =
      std::max<size_t>(1, static_cast<size_t>(alpha * static_cast<double>(words.size())));
  switch (op) {
    case EdaOp::kSynonymReplacement:
      return join_words(synonym_replacement(std::move(words), n, rng));
    case EdaOp::kRandomInsertion:
      return join_words(random_insertion(std::move(words), n, rng));
    case EdaOp::kRandomSwap:
      return join_words(random_swap(std::move(words), n, rng));
    case EdaOp::kRandomDeletion:
      return join_words(random_deletion(words, alpha, rng));
  }
  return text;
}

}  // namespace

std::string eda_apply(const std::string& text, EdaOp op, double alpha, at::Generator& gen) {
  check_alpha(alpha);
  Rng rng(next_seed(gen));
  return apply(text, op, alpha, rng);
}

std::string eda_augment(const std::string& text, double alpha, at::Generator& gen) {
  check_alpha(alpha);
  Rng rng(next_seed(gen));
  const auto op = static_cast<EdaOp>(uniform_index(rng, 4));
  return apply(text, op, alpha, rng);
}

}  // namespace perturb
