// Tokenizers turn captions into token ids and a mask for the text encoders: a word-level
// vocabulary built from a corpus (the built-in data) and CLIP's byte-pair encoding when the user
// gives its vocabulary file (bpe_simple_vocab_16e6.txt[.gz]).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

struct TokenBatch {
  torch::Tensor ids;   // [N, L] int64, padded with the tokenizer's pad id
  torch::Tensor mask;  // [N, L] int64, 1 on real tokens (start/end markers included), 0 on pads
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Ids and mask for each text, truncated to max_length() tokens.
  virtual TokenBatch encode(const std::vector<std::string>& texts) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t max_length() const = 0;
  // "word_tokenizer(vocab: 812, length: 32)", "clip_bpe('bpe_simple_vocab_16e6.txt.gz')"
  virtual std::string describe() const = 0;
  // A text form that deserialize_tokenizer reads back (saved inside a model file).
  virtual std::string serialize() const = 0;
};
using TokenizerPtr = std::shared_ptr<const Tokenizer>;

// Lower-cased words of the corpus (split_words) with at least min_count occurrences, plus
// <pad>=0, <unk>=1, <start>=2, <end>=3; unknown words encode as <unk>. Every WordNet synonym
// of a corpus word is in the vocabulary too when `with_synonyms` (so word substitutions by the
// text attacks and EDA do not all collapse to <unk>).
TokenizerPtr make_word_tokenizer(const std::vector<std::string>& corpus, int64_t max_length = 32,
                                 int64_t min_count = 1, bool with_synonyms = true);
// CLIP's tokenizer (Radford et al. 2021): byte-level BPE with the merges in vocab_path
// (plain or gzip), <|startoftext|>/<|endoftext|>, lower-cased, context length max_length
// (77 in CLIP). Missing file → IoError naming it; malformed file → Error.
TokenizerPtr load_clip_bpe(const std::string& vocab_path, int64_t max_length = 77);
TokenizerPtr deserialize_tokenizer(const std::string& text);

// The words of a caption as the text attacks and EDA edit them: lower case, split on
// whitespace, punctuation stripped from the ends of words.
std::vector<std::string> split_words(const std::string& text);
std::string join_words(const std::vector<std::string>& words);

}  // namespace perturb
