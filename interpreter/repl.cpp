#include "interpreter/repl.h"

#include <readline/history.h>
#include <readline/readline.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "interpreter/builtins.h"
#include "interpreter/session.h"

namespace perturb::lang {
namespace {

constexpr const char* kPrompt = "ptb> ";
constexpr const char* kContinuation = "...> ";

std::string history_path() {
  if (const char* path = std::getenv("PERTURB_HISTORY")) return path;
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + "/.perturb_history" : ".perturb_history";
}

// Reads one line, with line editing and history on a terminal; false at end of input.
bool read_line(const char* prompt, bool terminal, std::string& line) {
  if (!terminal) return static_cast<bool>(std::getline(std::cin, line));
  char* raw = readline(prompt);
  if (!raw) return false;
  line = raw;
  std::free(raw);
  return true;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Runs the expression in the session (as typing it would) and names the kind of its value.
void type_of(Session& session, const std::string& text) {
  Outcome outcome = session.run(std::make_shared<SourceFile>("<repl>", text));
  if (outcome.value) std::cout << describe_type(*outcome.value) << "\n";
}

}  // namespace

std::string help_text(const std::string& name) {
  if (name.empty()) {
    std::ostringstream out;
    out << "commands: :help NAME, :type EXPR, :quit\nbuiltins:";
    for (const auto& [entry_name, entry] : builtins().all()) out << " " << entry_name;
    out << "\n";
    return out.str();
  }
  const Builtin* b = builtins().find(name);
  if (!b) {
    std::vector<std::string> names;
    for (const auto& [entry_name, entry] : builtins().all()) names.push_back(entry_name);
    std::string hint = closest_match(name, names);
    return "no builtin named '" + name + "'" +
           (hint.empty() ? "" : "; did you mean '" + hint + "'?") + "\n";
  }
  std::string text = signature_text(*b) + "\n  " + b->doc + "\n";
  if (!b->example.empty()) text += "  example: " + b->example + "\n";
  if (!b->planned.empty()) text += "  (not available in this build yet: " + b->planned + ")\n";
  return text;
}

int run_repl(const RunOptions& options) {
  bool terminal = isatty(STDIN_FILENO);
  std::string history = history_path();
  if (terminal) {
    using_history();
    read_history(history.c_str());
    std::cout << "Perturb "
              << "0.1.0"
              << " — :help for builtins, :quit to leave\n";
  }
  Session session(options, std::cerr, terminal);
  std::string pending;
  std::string line;
  int inputs = 0;
  while (read_line(pending.empty() ? kPrompt : kContinuation, terminal, line)) {
    std::string trimmed = trim(line);
    if (pending.empty() && trimmed.empty()) continue;
    if (pending.empty() && trimmed[0] == ':') {
      if (terminal) add_history(trimmed.c_str());
      std::string command = trimmed.substr(0, trimmed.find(' '));
      std::string argument = trim(trimmed.substr(command.size()));
      if (command == ":quit" || command == ":q") break;
      if (command == ":help" || command == ":h") {
        std::cout << help_text(argument);
      } else if (command == ":type" || command == ":t") {
        type_of(session, argument);
      } else {
        std::cout << "unknown command " << command << "; try :help, :type EXPR or :quit\n";
      }
      continue;
    }
    pending += line + "\n";
    auto source = std::make_shared<SourceFile>("<repl:" + std::to_string(++inputs) + ">", pending);
    Outcome outcome = session.run_interactive(source);
    if (outcome.incomplete) {
      --inputs;
      continue;
    }
    if (terminal) add_history(trim(pending).c_str());
    pending.clear();
    if (outcome.value && !outcome.value->is_none())
      std::cout << format_value(*outcome.value, true) << "\n";
    std::cout.flush();
  }
  if (terminal) write_history(history.c_str());
  return kExitOk;
}

}  // namespace perturb::lang
