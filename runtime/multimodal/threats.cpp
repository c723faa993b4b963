#include "runtime/multimodal/attack.h"

namespace perturb {

std::string WordSubThreat::describe() const {
  return "WordSub(words: " + std::to_string(words) + ", candidates: " + std::to_string(candidates) +
         ")";
}

std::string PairThreat::describe() const {
  std::string text = "Pair(";
  if (image) text += "image: " + image->describe();
  if (image && this->text) text += ", ";
  if (this->text) text += "text: " + this->text->describe();
  return text + ")";
}

}  // namespace perturb
