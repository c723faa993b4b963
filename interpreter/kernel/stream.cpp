#include "interpreter/kernel/stream.h"

namespace perturb::lang {
namespace {

// Text held back until a flush; a script that writes more without flushing is sent in pieces.
constexpr size_t kMaxPending = 1 << 16;

}  // namespace

PublishingBuffer::int_type PublishingBuffer::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  pending_ += traits_type::to_char_type(c);
  if (pending_.size() >= kMaxPending) sync();
  return c;
}

std::streamsize PublishingBuffer::xsputn(const char* text, std::streamsize count) {
  pending_.append(text, static_cast<size_t>(count));
  if (pending_.size() >= kMaxPending) sync();
  return count;
}

int PublishingBuffer::sync() {
  if (pending_.empty()) return 0;
  std::string text;
  text.swap(pending_);
  publish_(text);
  return 0;
}

}  // namespace perturb::lang
