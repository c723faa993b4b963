#pragma once
// `perturb lsp`: a Language Server Protocol server over stdin/stdout. It holds the open
// documents, answers requests with the language analysis of interpreter/ide (parse and check
// only; no script ever runs), and publishes each document's diagnostics on open and, debounced,
// after changes. Logs go to stderr; stdout carries only protocol messages.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "interpreter/lsp/jsonrpc.h"

namespace perturb::lang::lsp {

// Serves on the given descriptors until `exit` or the end of input; returns the process exit
// code: 0 after a shutdown request, 1 without one (as the protocol asks).
int run_language_server(int in_fd = 0, int out_fd = 1);

// file:///a%20b/c.ptb ↔ /a b/c.ptb ("" for a URI that is not a file).
std::string path_from_uri(const std::string& uri);
std::string uri_from_path(const std::string& path);

class Server {
 public:
  explicit Server(MessageWriter& out,
                  std::chrono::milliseconds diagnostic_delay = std::chrono::milliseconds(200));
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Handles one message body (answered through the writer when it is a request).
  void handle(const std::string& body);
  // A frame the reader could not make sense of: answered with a parse error (id null).
  void bad_frame(const std::string& error);
  bool exited() const { return exited_; }
  int exit_code() const { return shutdown_requested_ ? 0 : 1; }

 private:
  struct Document {
    std::string path;  // for imports beside it and for messages
    std::string text;
    int64_t version = 0;
  };
  using Handler = std::function<json(const json& params)>;

  void dispatch(const json& message);
  void request(const json& id, const std::string& method, const json& params);
  void notification(const std::string& method, const json& params);

  json initialize(const json& params);
  void did_open(const json& params);
  void did_change(const json& params);
  void did_close(const json& params);
  json hover(const json& params);
  json completion(const json& params);
  json signature_help(const json& params);
  json definition(const json& params);
  json references(const json& params);
  json rename(const json& params);
  json formatting(const json& params);
  json document_symbols(const json& params);

  // The document a request names (a copy: the worker may change the map meanwhile) and the byte
  // offset of its position; errors with -32602 when either is missing or malformed.
  Document document_of(const json& params) const;
  size_t offset_of(const Document& document, const json& params) const;

  // Diagnostics: `uri` is analysed and published once `delay` has passed without a newer change.
  void schedule_diagnostics(const std::string& uri, std::chrono::milliseconds delay);
  void diagnostics_loop();
  void publish_diagnostics(const std::string& uri);

  MessageWriter& out_;
  std::map<std::string, Handler> requests_;
  bool initialized_ = false;
  bool shutdown_requested_ = false;
  bool exited_ = false;

  mutable std::mutex documents_mutex_;
  std::map<std::string, Document> documents_;
  // Parsing and checking run one at a time: requests on the reading thread, diagnostics on the
  // worker.
  std::mutex analysis_mutex_;

  std::chrono::milliseconds diagnostic_delay_;
  std::mutex schedule_mutex_;
  std::condition_variable schedule_changed_;
  std::map<std::string, std::chrono::steady_clock::time_point> due_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace perturb::lang::lsp
