#pragma once
// JSON-RPC 2.0 framing for the Language Server Protocol: `Content-Length: N\r\n\r\n` then N bytes
// of JSON, over a pair of file descriptors. A reader that survives whatever arrives: garbage
// headers, missing, negative or huge lengths, bodies cut short, invalid JSON.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace perturb::lang::lsp {

using nlohmann::json;

// JSON-RPC and LSP error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kServerNotInitialized = -32002;
constexpr int kRequestFailed = -32803;

// The largest body read; a longer length is answered with a parse error and the reader looks for
// the next header.
constexpr size_t kMaxMessageBytes = 64u << 20;
// Deeper JSON is refused before it is parsed (the checker and nlohmann stay clear of deep
// recursion).
constexpr size_t kMaxJsonDepth = 256;

// One framed message, or why none could be read.
struct Frame {
  enum class Status { kMessage, kBadFrame, kEnd } status = Status::kEnd;
  std::string body;   // kMessage: the JSON text
  std::string error;  // kBadFrame: what was wrong with it (logged, answered with -32700)
};

class MessageReader {
 public:
  explicit MessageReader(int fd) : fd_(fd) {}
  // The next message; kEnd at end of input (a body cut short by the end counts as the end).
  Frame next();

 private:
  bool fill();  // reads more bytes; false at end of input
  // Drops bytes up to the next "Content-Length" (at or after `from`), after a frame that made
  // no sense.
  void resynchronize(size_t from);

  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

class MessageWriter {
 public:
  explicit MessageWriter(int fd) : fd_(fd) {}
  // Frames and writes one message; safe to call from several threads.
  void write(const json& message);

 private:
  int fd_;
  std::mutex mutex_;
};

// The JSON of a body, or nullopt with `error` set (invalid JSON, too deep).
std::optional<json> parse_body(const std::string& body, std::string& error);

json error_response(const json& id, int code, const std::string& message);
json result_response(const json& id, json result);

}  // namespace perturb::lang::lsp
