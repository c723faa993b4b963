#pragma once
// An output stream whose text goes to a callback (the kernel publishes it as a `stream`
// message) each time it is flushed: print() flushes after each line, so a long cell's output
// arrives as it is printed, not when the cell ends.

#include <functional>
#include <ostream>
#include <streambuf>
#include <string>

namespace perturb::lang {

class PublishingBuffer : public std::streambuf {
 public:
  using Publish = std::function<void(const std::string& text)>;
  explicit PublishingBuffer(Publish publish) : publish_(std::move(publish)) {}

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* text, std::streamsize count) override;
  int sync() override;

 private:
  Publish publish_;
  std::string pending_;
};

// An std::ostream over a PublishingBuffer.
class PublishingStream : public std::ostream {
 public:
  explicit PublishingStream(PublishingBuffer::Publish publish)
      : std::ostream(nullptr), buffer_(std::move(publish)) {
    rdbuf(&buffer_);
  }

 private:
  PublishingBuffer buffer_;
};

}  // namespace perturb::lang
