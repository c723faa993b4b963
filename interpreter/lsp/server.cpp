#include "interpreter/lsp/server.h"

#include <csignal>
#include <cstdio>
#include <iostream>

#include "interpreter/format.h"
#include "interpreter/ide/analysis.h"
#include "interpreter/ide/completion.h"
#include "interpreter/ide/hover.h"
#include "interpreter/ide/signature.h"
#include "interpreter/ide/symbols.h"
#include "interpreter/large_stack.h"
#include "interpreter/lsp/convert.h"

namespace perturb::lang::lsp {
namespace {

// A request that fails with a JSON-RPC error.
struct RpcError {
  int code;
  std::string message;
};

void log(const std::string& message) {
  std::cerr << "perturb lsp: " << message << "\n";
}

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned() ||
         id.is_number_float();
}

const json& member(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key))
    throw RpcError{kInvalidParams, std::string("missing '") + key + "'"};
  return object.at(key);
}

std::string string_member(const json& object, const char* key) {
  const json& value = member(object, key);
  if (!value.is_string())
    throw RpcError{kInvalidParams, std::string("'") + key + "' must be a string"};
  return value.get<std::string>();
}

int int_member(const json& object, const char* key) {
  const json& value = member(object, key);
  if (!value.is_number_integer() && !value.is_number_unsigned())
    throw RpcError{kInvalidParams, std::string("'") + key + "' must be a whole number"};
  const auto number = value.get<int64_t>();
  if (number < 0 || number > 1'000'000'000)
    throw RpcError{kInvalidParams, std::string("'") + key + "' is out of range"};
  return static_cast<int>(number);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string path_from_uri(const std::string& uri) {
  const std::string scheme = "file://";
  if (uri.compare(0, scheme.size(), scheme) != 0) return "";
  std::string path;
  for (size_t i = scheme.size(); i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && hex_value(uri[i + 1]) >= 0 &&
        hex_value(uri[i + 2]) >= 0) {
      path += static_cast<char>(hex_value(uri[i + 1]) * 16 + hex_value(uri[i + 2]));
      i += 2;
    } else {
      path += uri[i];
    }
  }
  // file://host/path is not ours to open; file:///path has an empty host.
  return path.empty() || path[0] != '/' ? "" : path;
}

std::string uri_from_path(const std::string& path) {
  std::string uri = "file://";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      uri += escaped;
    }
  }
  return uri;
}

Server::Server(MessageWriter& out, std::chrono::milliseconds diagnostic_delay)
    : out_(out), diagnostic_delay_(diagnostic_delay) {
  auto bind = [this](json (Server::*method)(const json&)) {
    return [this, method](const json& params) { return (this->*method)(params); };
  };
  requests_ = {
      {"initialize", bind(&Server::initialize)},
      {"shutdown",
       [this](const json&) {
         shutdown_requested_ = true;
         return json(nullptr);
       }},
      {"textDocument/hover", bind(&Server::hover)},
      {"textDocument/completion", bind(&Server::completion)},
      {"textDocument/signatureHelp", bind(&Server::signature_help)},
      {"textDocument/definition", bind(&Server::definition)},
      {"textDocument/references", bind(&Server::references)},
      {"textDocument/rename", bind(&Server::rename)},
      {"textDocument/documentSymbol", bind(&Server::document_symbols)},
      {"textDocument/formatting", bind(&Server::formatting)},
  };
  // The checker recurses over a document's nesting: it gets the interpreter's large stack.
  worker_ = std::thread([this] {
    run_on_large_stack([this] {
      diagnostics_loop();
      return 0;
    });
  });
}

Server::~Server() {
  {
    std::lock_guard<std::mutex> lock(schedule_mutex_);
    stopping_ = true;
  }
  schedule_changed_.notify_all();
  worker_.join();
}

void Server::bad_frame(const std::string& error) {
  log("unreadable message: " + error);
  out_.write(error_response(nullptr, kParseError, error));
}

void Server::handle(const std::string& body) {
  std::string error;
  auto message = parse_body(body, error);
  if (!message) {
    log("unreadable message: " + error);
    out_.write(error_response(nullptr, kParseError, error));
    return;
  }
  dispatch(*message);
}

void Server::dispatch(const json& message) {
  if (!message.is_object()) {
    out_.write(error_response(nullptr, kInvalidRequest, "a message must be a JSON object"));
    return;
  }
  const bool is_request = message.contains("id");
  const json id = is_request ? message.at("id") : json(nullptr);
  if (is_request && !valid_id(id)) {
    out_.write(error_response(nullptr, kInvalidRequest, "'id' must be a number or a string"));
    return;
  }
  if (!message.contains("method") || !message.at("method").is_string()) {
    // A response from the client (to a request we never send) or garbage.
    if (is_request && !message.contains("result") && !message.contains("error"))
      out_.write(error_response(id, kInvalidRequest, "a request needs a string 'method'"));
    return;
  }
  const std::string method = message.at("method").get<std::string>();
  const json params = message.contains("params") ? message.at("params") : json::object();
  if (is_request) {
    request(id, method, params);
  } else {
    notification(method, params);
  }
}

void Server::request(const json& id, const std::string& method, const json& params) {
  try {
    if (!initialized_ && method != "initialize")
      throw RpcError{kServerNotInitialized, "the server is not initialized yet"};
    if (shutdown_requested_) throw RpcError{kInvalidRequest, "the server is shutting down"};
    auto handler = requests_.find(method);
    if (handler == requests_.end()) throw RpcError{kMethodNotFound, "no method '" + method + "'"};
    if (!params.is_object() && !params.is_array() && !params.is_null())
      throw RpcError{kInvalidParams, "'params' must be an object"};
    out_.write(result_response(id, handler->second(params)));
  } catch (const RpcError& e) {
    out_.write(error_response(id, e.code, e.message));
  } catch (const json::exception& e) {
    out_.write(error_response(id, kInvalidParams, e.what()));
  } catch (const std::exception& e) {
    log(method + " failed: " + e.what());
    out_.write(error_response(id, kInternalError, e.what()));
  }
}

void Server::notification(const std::string& method, const json& params) {
  if (method == "exit") {
    exited_ = true;
    return;
  }
  if (!initialized_ || shutdown_requested_) return;
  try {
    if (method == "textDocument/didOpen") {
      did_open(params);
    } else if (method == "textDocument/didChange") {
      did_change(params);
    } else if (method == "textDocument/didClose") {
      did_close(params);
    }
    // Others ($/cancelRequest, initialized, didSave, workspace/...) need nothing from us.
  } catch (const RpcError& e) {
    log(method + ": " + e.message);
  } catch (const std::exception& e) {
    log(method + ": " + e.what());
  }
}

json Server::initialize(const json& params) {
  if (initialized_) throw RpcError{kInvalidRequest, "initialize was already sent"};
  initialized_ = true;
  json capabilities = {
      {"textDocumentSync", {{"openClose", true}, {"change", 2}}},  // 2: incremental
      {"hoverProvider", true},
      {"completionProvider", {{"triggerCharacters", {".", "(", ","}}}},
      {"signatureHelpProvider", {{"triggerCharacters", {"(", ","}}}},
      {"definitionProvider", true},
      {"referencesProvider", true},
      {"renameProvider", true},
      {"documentSymbolProvider", true},
      {"documentFormattingProvider", true},
  };
  return {{"capabilities", capabilities},
          {"serverInfo", {{"name", "perturb"}, {"version", "0.1.0"}}}};
}

void Server::did_open(const json& params) {
  const json& item = member(params, "textDocument");
  const std::string uri = string_member(item, "uri");
  Document document{path_from_uri(uri), string_member(item, "text"), 0};
  if (item.contains("version") && item.at("version").is_number_integer())
    document.version = item.at("version").get<int64_t>();
  {
    std::lock_guard<std::mutex> lock(documents_mutex_);
    documents_[uri] = std::move(document);
  }
  schedule_diagnostics(uri, std::chrono::milliseconds(0));
}

void Server::did_change(const json& params) {
  const json& item = member(params, "textDocument");
  const std::string uri = string_member(item, "uri");
  const json& changes = member(params, "contentChanges");
  if (!changes.is_array()) throw RpcError{kInvalidParams, "'contentChanges' must be an array"};
  {
    std::lock_guard<std::mutex> lock(documents_mutex_);
    auto it = documents_.find(uri);
    if (it == documents_.end()) throw RpcError{kInvalidParams, "didChange of a document not open"};
    std::string text = it->second.text;
    for (const auto& change : changes) {
      const std::string replacement = string_member(change, "text");
      if (!change.contains("range")) {
        text = replacement;
        continue;
      }
      const ide::LineIndex lines(text);
      const ide::LspRange range = range_from_json(member(change, "range"));
      size_t begin = lines.offset_of(range.start), end = lines.offset_of(range.end);
      if (end < begin) std::swap(begin, end);
      text.replace(begin, end - begin, replacement);
    }
    it->second.text = std::move(text);
    if (item.contains("version") && item.at("version").is_number_integer())
      it->second.version = item.at("version").get<int64_t>();
  }
  schedule_diagnostics(uri, diagnostic_delay_);
}

void Server::did_close(const json& params) {
  const std::string uri = string_member(member(params, "textDocument"), "uri");
  {
    std::lock_guard<std::mutex> lock(documents_mutex_);
    documents_.erase(uri);
  }
  {
    std::lock_guard<std::mutex> lock(schedule_mutex_);
    due_.erase(uri);
  }
  out_.write({{"jsonrpc", "2.0"},
              {"method", "textDocument/publishDiagnostics"},
              {"params", {{"uri", uri}, {"diagnostics", json::array()}}}});
}

Server::Document Server::document_of(const json& params) const {
  const std::string uri = string_member(member(params, "textDocument"), "uri");
  std::lock_guard<std::mutex> lock(documents_mutex_);
  auto it = documents_.find(uri);
  if (it == documents_.end())
    throw RpcError{kInvalidParams, "unknown document " + uri + " (send didOpen first)"};
  return it->second;
}

size_t Server::offset_of(const Document& document, const json& params) const {
  const json& position = member(params, "position");
  const ide::LspPosition at{int_member(position, "line"), int_member(position, "character")};
  return ide::LineIndex(document.text).offset_of(at);
}

json Server::hover(const json& params) {
  const Document document = document_of(params);
  const size_t offset = offset_of(document, params);
  std::lock_guard<std::mutex> lock(analysis_mutex_);
  const auto analysis = ide::analyze_around(document.path, document.text, offset);
  const auto info = ide::hover(analysis, offset);
  if (!info) return nullptr;
  const ide::LineIndex lines(document.text);
  return {{"contents", {{"kind", "markdown"}, {"value", info->markdown}}},
          {"range", to_json(lines.range_of(info->begin, info->end))}};
}

json Server::completion(const json& params) {
  const Document document = document_of(params);
  const size_t offset = offset_of(document, params);
  std::lock_guard<std::mutex> lock(analysis_mutex_);
  const auto completions = ide::complete(document.path, document.text, offset);
  const ide::LineIndex lines(document.text);
  return completions_to_json(completions, lines);
}

json Server::signature_help(const json& params) {
  const Document document = document_of(params);
  const size_t offset = offset_of(document, params);
  std::lock_guard<std::mutex> lock(analysis_mutex_);
  const auto analysis = ide::analyze_around(document.path, document.text, offset);
  const auto info = ide::signature_help(analysis, offset);
  if (!info) return nullptr;
  return signature_to_json(*info);
}

json Server::definition(const json& params) {
  const Document document = document_of(params);
  const size_t offset = offset_of(document, params);
  std::lock_guard<std::mutex> lock(analysis_mutex_);
  const auto analysis = ide::analyze_around(document.path, document.text, offset);
  const auto location = ide::definition(analysis, offset);
  if (!location) return nullptr;
  const std::string uri = location->path == document.path
                              ? string_member(member(params, "textDocument"), "uri")
                              : uri_from_path(location->path);
  return {{"uri", uri}, {"range", to_json(location->range)}};
}

json Server::references(const json& params) {
  const Document document = document_of(params);
  const size_t offset = offset_of(document, params);
  bool include_declaration = true;
  if (params.contains("context") && params.at("context").is_object() &&
      params.at("context").contains("includeDeclaration"))
    include_declaration = params.at("context").at("includeDeclaration").get<bool>();
  std::lock_guard<std::mutex> lock(analysis_mutex_);
  const auto analysis = ide::analyze_around(document.path, document.text, offset);
  const std::string uri = string_member(member(params, "textDocument"), "uri");
  const ide::LineIndex lines(document.text);
  json out = json::array();
  for (const auto& [begin, end] : ide::references(analysis, offset, include_declaration))
    out.push_back({{"uri", uri}, {"range", to_json(lines.range_of(begin, end))}});
  return out;
}

json Server::rename(const json& params) {
  const Document document = document_of(params);
  const size_t offset = offset_of(document, params);
  const std::string new_name = string_member(params, "newName");
  std::lock_guard<std::mutex> lock(analysis_mutex_);
  const auto analysis = ide::analyze(document.path, document.text);
  const auto result = ide::rename(analysis, offset, new_name);
  if (!result.error.empty()) throw RpcError{kRequestFailed, result.error};
  const ide::LineIndex lines(document.text);
  json edits = json::array();
  for (const auto& [begin, end] : result.ranges)
    edits.push_back({{"range", to_json(lines.range_of(begin, end))}, {"newText", new_name}});
  const std::string uri = string_member(member(params, "textDocument"), "uri");
  return {{"changes", {{uri, edits}}}};
}

// The whole document as `perturb fmt` lays it out: one edit, or none when it already is. The
// layout is canonical, so the client's tabSize/insertSpaces options are not consulted.
json Server::formatting(const json& params) {
  const Document document = document_of(params);
  const auto source = std::make_shared<const SourceFile>(document.path, document.text);
  const FormatResult formatted = format_source(source);
  if (formatted.errors.has_errors()) {
    const Diagnostic& first = formatted.errors.diagnostics().front();
    throw RpcError{kRequestFailed, "not formatted: line " + std::to_string(first.span.line) + ":" +
                                       std::to_string(first.span.column) + ": " + first.message};
  }
  json edits = json::array();
  if (formatted.text == document.text) return edits;
  const ide::LineIndex lines(document.text);
  edits.push_back(
      {{"range", to_json(lines.range_of(0, document.text.size()))}, {"newText", formatted.text}});
  return edits;
}

json Server::document_symbols(const json& params) {
  const Document document = document_of(params);
  std::lock_guard<std::mutex> lock(analysis_mutex_);
  const auto analysis = ide::analyze_around(document.path, document.text, document.text.size());
  return symbols_to_json(ide::document_symbols(analysis), ide::LineIndex(document.text));
}

void Server::schedule_diagnostics(const std::string& uri, std::chrono::milliseconds delay) {
  {
    std::lock_guard<std::mutex> lock(schedule_mutex_);
    due_[uri] = std::chrono::steady_clock::now() + delay;
  }
  schedule_changed_.notify_all();
}

void Server::diagnostics_loop() {
  std::unique_lock<std::mutex> lock(schedule_mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      schedule_changed_.wait(lock);
      continue;
    }
    auto next = due_.begin();
    for (auto it = due_.begin(); it != due_.end(); ++it) {
      if (it->second < next->second) next = it;
    }
    if (next->second > std::chrono::steady_clock::now()) {
      schedule_changed_.wait_until(lock, next->second);
      continue;  // a newer change may have moved the deadline
    }
    const std::string uri = next->first;
    due_.erase(next);
    lock.unlock();
    try {
      publish_diagnostics(uri);
    } catch (const std::exception& e) {
      log("diagnostics of " + uri + " failed: " + e.what());
    }
    lock.lock();
  }
}

void Server::publish_diagnostics(const std::string& uri) {
  Document document;
  {
    std::lock_guard<std::mutex> lock(documents_mutex_);
    auto it = documents_.find(uri);
    if (it == documents_.end()) return;
    document = it->second;
  }
  json diagnostics;
  {
    std::lock_guard<std::mutex> lock(analysis_mutex_);
    const auto analysis = ide::analyze(document.path, document.text);
    diagnostics = diagnostics_to_json(analysis, ide::LineIndex(document.text));
  }
  {
    // A change that arrived meanwhile publishes its own; this version is already stale.
    std::lock_guard<std::mutex> lock(documents_mutex_);
    auto it = documents_.find(uri);
    if (it == documents_.end() || it->second.version != document.version ||
        it->second.text != document.text)
      return;
  }
  out_.write(
      {{"jsonrpc", "2.0"},
       {"method", "textDocument/publishDiagnostics"},
       {"params", {{"uri", uri}, {"version", document.version}, {"diagnostics", diagnostics}}}});
}

int run_language_server(int in_fd, int out_fd) {
  // A client that closes its end mid-reply ends the session at the next read, not by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  MessageWriter writer(out_fd);
  MessageReader reader(in_fd);
  Server server(writer);
  log("ready");
  while (!server.exited()) {
    Frame frame = reader.next();
    if (frame.status == Frame::Status::kEnd) break;
    if (frame.status == Frame::Status::kBadFrame) {
      server.bad_frame(frame.error);
      continue;
    }
    server.handle(frame.body);
  }
  return server.exit_code();
}

}  // namespace perturb::lang::lsp
