#include "runtime/threat/text.h"

namespace perturb {

std::string WordSubThreat::describe() const {
  return "WordSub(words: " + std::to_string(words) + ", candidates: " + std::to_string(candidates) +
         ")";
}

std::string PairThreat::describe() const {
  // One side alone prints as that threat: WordSub(...) is a text-only PairThreat.
  if (image && !this->text) return "Pair(image: " + image->describe() + ")";
  if (!image && this->text) return this->text->describe();
  std::string text = "Pair(";
  if (image) text += "image: " + image->describe();
  if (image && this->text) text += ", ";
  if (this->text) text += "text: " + this->text->describe();
  return text + ")";
}

}  // namespace perturb
