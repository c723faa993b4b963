// Threats on captions (multimodal-adversarial-training paper, eq. 2 and eq. 4): the
// word-substitution threat ε_T and the image–text product threat of the attacks on two-tower models
// (attack/multimodal/).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "runtime/threat/threat.h"

namespace perturb {

// The text threat: at most `words` words of a caption replaced by WordNet synonyms, trying up to
// `candidates` synonyms per word (the paper's ε_T = one word).
struct WordSubThreat {
  int64_t words = 1;
  int64_t candidates = 20;
  std::string describe() const;  // "WordSub(words: 1, candidates: 20)"
};

// The product threat Pair(image: Linf(eps: 2/255), text: WordSub(words: 1)); either side may be
// absent (image-only or text-only threat).
struct PairThreat {
  ThreatPtr image;
  std::optional<WordSubThreat> text;
  std::string describe() const;
};

}  // namespace perturb
