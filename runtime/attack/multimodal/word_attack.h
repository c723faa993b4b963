// The text attack of the multimodal-adversarial-training paper (eq. 4): at most `words` words of
// each caption replaced by WordNet synonyms so that the caption's embedding moves as far as
// possible, T' = argmax ‖Ψ(T') − Ψ(T)‖. BERT-Attack style (Li et al. 2020): words ranked by how
// much deleting each one moves the embedding, then greedily substituted in that order; the
// candidates are WordNet synonyms instead of BERT's masked-language-model proposals.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/attack/multimodal/attack.h"

namespace perturb {

// Synonyms of a (lower-case) word; WordNet::shared() by default, replaceable in tests.
using SynonymFn = std::function<std::vector<std::string>(const std::string&)>;

// True for the function words the attack never substitutes ("a", "the", "of", "with"...).
bool is_stop_word(const std::string& word);

// The greedy substitution for a list of captions. The score of a candidate caption T' is
// −cos(ψ̂(T'), g) for its caption's guide g (a unit vector): with g = ψ̂(T), the normalised clean
// embedding (guides undefined), it orders candidates exactly as ‖ψ̂(T') − ψ̂(T)‖ of eq. 4 since
// ‖a − b‖² = 2 − 2·cos for unit vectors; SGA passes the adversarial image's embedding as the guide
// (text pushed away from the image). Per caption: words ranked by the score of the caption with
// that word deleted; then, most important first (stop words and words without synonyms skipped),
// up to `candidates` synonyms are tried in one batched encode_text call for all captions at once,
// and the best is kept when it raises the score; until `words` words are replaced or every word
// was tried. A caption left unchanged is returned verbatim; a changed one as join_words of its
// words. Each encoded string counts as one query in `stats`.
std::vector<std::string> substitute_words(TwoTower& model, const std::vector<std::string>& captions,
                                          const WordSubThreat& threat,
                                          const torch::Tensor& guides = {},
                                          AttackStats* stats = nullptr,
                                          const SynonymFn& synonyms = {});

// How many word positions differ between two captions (their split_words), or -1 when they
// have different lengths.
int64_t words_changed(const std::string& original, const std::string& attacked);

// WordAttack(threat): every caption of the batch attacked by substitute_words (eq. 4); images
// unchanged. Error when the threat has no text part.
MultimodalAttackPtr make_word_attack(PairThreat threat, SynonymFn synonyms = {});

}  // namespace perturb
