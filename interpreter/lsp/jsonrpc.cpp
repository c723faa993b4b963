#include "interpreter/lsp/jsonrpc.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace perturb::lang::lsp {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Where the header block ends ("\r\n\r\n", or "\n\n" from a sloppy client), and its length.
std::pair<size_t, size_t> header_end(const std::string& buffer) {
  const size_t crlf = buffer.find("\r\n\r\n");
  const size_t lf = buffer.find("\n\n");
  if (crlf == std::string::npos && lf == std::string::npos) return {std::string::npos, 0};
  if (lf == std::string::npos || (crlf != std::string::npos && crlf < lf)) return {crlf, 4};
  return {lf, 2};
}

// The Content-Length of a header block: the value, or an error. A header name with bytes before
// it on its line (what is left of a body cut short) still counts, so the stream recovers.
std::optional<size_t> content_length(const std::string& headers, std::string& error) {
  std::optional<size_t> length;
  size_t start = 0;
  while (start <= headers.size()) {
    size_t end = headers.find('\n', start);
    if (end == std::string::npos) end = headers.size();
    const std::string line = trim(headers.substr(start, end - start));
    start = end + 1;
    if (line.empty()) continue;
    const size_t name = lower(line).rfind("content-length");
    const size_t colon = line.find(':', name == std::string::npos ? 0 : name);
    if (colon == std::string::npos) {
      error = "malformed header line '" + line.substr(0, 80) + "'";
      return std::nullopt;
    }
    if (name == std::string::npos || trim(line.substr(name, colon - name)).size() != 14) continue;
    const std::string value = trim(line.substr(colon + 1));
    const bool digits = std::all_of(value.begin(), value.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    if (value.empty() || value.size() > 19 || !digits) {
      error = "Content-Length is not a whole number: '" + value.substr(0, 40) + "'";
      return std::nullopt;
    }
    length = std::stoull(value);
  }
  if (!length) error = "no Content-Length header";
  return length;
}

// The deepest nesting of [ and { outside strings.
size_t json_depth(const std::string& text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

bool MessageReader::fill() {
  if (eof_) return false;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    eof_ = true;
    return false;
  }
}

void MessageReader::resynchronize(size_t from) {
  // The next header is a "Content-Length" (any case); drop what is before it.
  for (;;) {
    const std::string lowered = lower(buffer_);
    const size_t at = lowered.find("content-length", from);
    if (at != std::string::npos) {
      buffer_.erase(0, at);
      return;
    }
    // Keep a tail that may be the start of a split header name.
    if (buffer_.size() > 16) buffer_.erase(0, buffer_.size() - 16);
    from = 0;
    if (!fill()) {
      buffer_.clear();
      return;
    }
  }
}

Frame MessageReader::next() {
  Frame frame;
  for (;;) {
    auto [end, separator] = header_end(buffer_);
    if (end == std::string::npos) {
      // A header block never needs this much: it is garbage, not a header still arriving.
      if (buffer_.size() > 8192) {
        frame.status = Frame::Status::kBadFrame;
        frame.error = "header too long or never terminated";
        resynchronize(1);
        return frame;
      }
      if (!fill()) return Frame{};
      continue;
    }
    const std::string headers = buffer_.substr(0, end);
    buffer_.erase(0, end + separator);
    auto length = content_length(headers, frame.error);
    if (!length) {
      frame.status = Frame::Status::kBadFrame;
      resynchronize(0);
      return frame;
    }
    if (*length > kMaxMessageBytes) {
      frame.status = Frame::Status::kBadFrame;
      frame.error = "message of " + std::to_string(*length) + " bytes is over the limit of " +
                    std::to_string(kMaxMessageBytes);
      // No client sends this much: the length is garbage, and skipping it would swallow every
      // message after it. Look for the next header instead.
      resynchronize(0);
      return frame;
    }
    while (buffer_.size() < *length) {
      if (!fill()) return Frame{};  // cut short by the end of input
    }
    frame.status = Frame::Status::kMessage;
    frame.body = buffer_.substr(0, *length);
    buffer_.erase(0, *length);
    return frame;
  }
}

void MessageWriter::write(const json& message) {
  const std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string frame = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::lock_guard<std::mutex> lock(mutex_);
  size_t written = 0;
  while (written < frame.size()) {
    const ssize_t n = ::write(fd_, frame.data() + written, frame.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client is gone; the read loop ends at its end of input
    written += static_cast<size_t>(n);
  }
}

std::optional<json> parse_body(const std::string& body, std::string& error) {
  if (json_depth(body) > kMaxJsonDepth) {
    error = "JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels deep";
    return std::nullopt;
  }
  json value = json::parse(body, nullptr, false);
  if (value.is_discarded()) {
    error = "invalid JSON";
    return std::nullopt;
  }
  return value;
}

json error_response(const json& id, int code, const std::string& message) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json result_response(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

}  // namespace perturb::lang::lsp
