// EDA (Wei and Zou 2019): synonym replacement (WordNet), random insertion of a synonym of a
// word of the sentence, random swap and random deletion, each changing about alpha·len words.
#pragma once
#include <string>

#include <torch/torch.h>

namespace perturb {

// One augmented sentence: one of the four operations, chosen uniformly at random from `gen`,
// applied with strength alpha (the paper's α = 0.3 in the MA²T study). Sentences of one word
// are returned unchanged by swap and deletion.
std::string eda_augment(const std::string& text, double alpha, at::Generator& gen);

}  // namespace perturb
