#include "interpreter/source.h"

namespace perturb::lang {

SourceFile::SourceFile(std::string name_, std::string text_)
    : name(std::move(name_)), text(std::move(text_)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::string SourceFile::line(int number) const {
  if (number < 1 || static_cast<size_t>(number) > line_starts_.size()) return "";
  size_t start = line_starts_[number - 1];
  size_t end = text.find('\n', start);
  if (end == std::string::npos) end = text.size();
  if (end > start && text[end - 1] == '\r') --end;
  return text.substr(start, end - start);
}

}  // namespace perturb::lang
