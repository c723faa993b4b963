#include "interpreter/repl.h"

#include <readline/history.h>
#include <readline/readline.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include "interpreter/builtins/table.h"
#include "interpreter/reference.h"
#include "interpreter/session.h"

namespace perturb::lang {
namespace {

constexpr const char* kCommandsHelp =
    "commands: :help NAME, :doc NAME, :type EXPR, :load FILE, :quit";

// ANSI colours, used only when stdout is a terminal (and NO_COLOR is unset).
struct Palette {
  bool on = false;
  std::string paint(const std::string& text, const char* code) const {
    return on ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  }
  std::string error(const std::string& text) const { return paint(text, "1;31"); }
  std::string note(const std::string& text) const { return paint(text, "32"); }
  // A readline prompt: escapes wrapped in \001..\002 so readline counts only visible columns.
  std::string prompt(const std::string& text) const {
    return on ? "\001\033[1;36m\002" + text + "\001\033[0m\002 " : text + " ";
  }
};

std::string history_path() {
  if (const char* path = std::getenv("PERTURB_HISTORY")) return path;
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + "/.perturb_history" : ".perturb_history";
}

// Reads one line, with line editing and history on a terminal; false at end of input.
bool read_line(const std::string& prompt, bool terminal, std::string& line) {
  if (!terminal) return static_cast<bool>(std::getline(std::cin, line));
  char* raw = readline(prompt.c_str());
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

// Prints "saved PATH" for each file named by a string literal of `text` that was written since
// `since`: what save(), plot() and image grids wrote during one input.
void report_saved(const std::string& text, std::filesystem::file_time_type since,
                  const Palette& palette) {
  static const std::regex kLiteral("\"((?:[^\"\\\\\\n]|\\\\.)*)\"");
  std::set<std::string> seen;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kLiteral);
       it != std::sregex_iterator(); ++it) {
    std::string path = (*it)[1];
    if (path.empty() || !seen.insert(path).second) continue;
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) continue;
    auto written = std::filesystem::last_write_time(path, error);
    if (!error && written >= since) std::cout << palette.note("saved " + path) << "\n";
  }
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

const std::vector<std::string>& repl_commands() {
  static const std::vector<std::string> commands = {"doc", "help", "load", "quit", "type"};
  return commands;
}

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// The names an object answers after a dot: fields (module members, record keys, dataset.x) and
// the methods the builtins table lists for its kind.
std::vector<std::string> members_of(const std::string& head, const EnvPtr& globals) {
  std::vector<std::string> out;
  const auto& modules = builtin_modules();
  if (std::find(modules.begin(), modules.end(), head) != modules.end()) {
    return builtins().members(head);
  }
  Value* value = globals ? globals->find(head) : nullptr;
  if (!value) return out;
  if (value->is<RecordPtr>()) return value->as<RecordPtr>()->keys();
  if (value->is<ObjectPtr>()) out = value->as<ObjectPtr>()->field_names();
  for (const auto& m : builtins().members(kind_name(value->kind()))) out.push_back(m);
  return out;
}

// The parameters of the callee `name` that can be given by name.
std::vector<std::string> named_parameters(const std::string& callee, const EnvPtr& globals) {
  std::vector<std::string> out;
  const Builtin* b = nullptr;
  auto dot = callee.rfind('.');
  if (dot == std::string::npos) {
    b = builtins().find(callee);
    if (!b && globals) {
      Value* value = globals->find(callee);
      if (value && value->is<CallablePtr>()) {
        if (auto closure = std::dynamic_pointer_cast<Closure>(value->as<CallablePtr>())) {
          for (const auto& p : closure->decl->params) out.push_back(p.name);
        }
      }
    }
  } else {
    std::string head = callee.substr(0, dot), tail = callee.substr(dot + 1);
    b = builtins().find(callee);
    if (!b && globals) {
      Value* value = globals->find(head);
      if (value) b = builtins().find(std::string(kind_name(value->kind())) + "." + tail);
    }
  }
  if (b) {
    for (const auto& p : b->signature.params) {
      if (p.name != "self") out.push_back(p.name);
    }
  }
  return out;
}

// The callee of the innermost call still open at the end of `code` ("" when none), and the
// argument text written so far.
std::pair<std::string, std::string> open_call(const std::string& code) {
  std::vector<size_t> open;
  for (size_t i = 0; i < code.size(); ++i) {
    char c = code[i];
    if (c == '"') {
      for (++i; i < code.size() && code[i] != '"'; ++i) {
        if (code[i] == '\\') ++i;
      }
    } else if (c == '#') {
      while (i < code.size() && code[i] != '\n') ++i;
    } else if (c == '(' || c == '[' || c == '{') {
      open.push_back(i);
    } else if ((c == ')' || c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    }
  }
  if (open.empty() || code[open.back()] != '(') return {"", ""};
  size_t paren = open.back();
  size_t b = paren;
  while (b > 0 && (code[b - 1] == ' ' || code[b - 1] == '\t')) --b;  // `PGD (` as `PGD(`
  size_t name_end = b;
  while (b > 0 && (ident_char(code[b - 1]) || code[b - 1] == '.')) --b;
  return {code.substr(b, name_end - b), code.substr(paren + 1)};
}

void add_matching(std::vector<std::string>& out, const std::vector<std::string>& names,
                  const std::string& text, const std::string& prefix = "",
                  const std::string& suffix = "") {
  for (const auto& n : names) {
    if (starts_with(n, text)) out.push_back(prefix + n + suffix);
  }
}

EnvPtr g_completion_globals;

char* completion_generator(const char* text, int state) {
  static std::vector<std::string> matches;
  static size_t next = 0;
  if (state == 0) {
    matches =
        completions(rl_line_buffer, static_cast<size_t>(rl_point), text, g_completion_globals);
    next = 0;
  }
  if (next >= matches.size()) return nullptr;
  return strdup(matches[next++].c_str());
}

bool is_load_line() {
  return rl_line_buffer && starts_with(trim(rl_line_buffer), ":load");
}

char** attempt_completion(const char* text, int /*start*/, int /*end*/) {
  if (is_load_line()) {
    rl_attempted_completion_over = 0;  // readline completes the file name
    return nullptr;
  }
  rl_attempted_completion_over = 1;
  // No space after a completed name: `PGD` is followed by `(`, `steps:` by its value, `zoo.`
  // by a member.
  rl_completion_append_character = '\0';
  return rl_completion_matches(text, completion_generator);
}

char* word_breaks() {
  static char load_breaks[] = " \t\n";
  static char code_breaks[] = " \t\n\"(),[]{}+-*/%=<>|&:;!";
  return is_load_line() ? load_breaks : code_breaks;
}

void set_up_completion(const EnvPtr& globals) {
  g_completion_globals = globals;
  rl_readline_name = "perturb";
  rl_attempted_completion_function = attempt_completion;
  rl_completion_word_break_hook = word_breaks;
  rl_basic_word_break_characters = word_breaks();
}

}  // namespace

std::vector<std::string> completions(const std::string& line, size_t end, const std::string& text,
                                     const EnvPtr& globals) {
  std::vector<std::string> out;
  std::string before = line.substr(0, std::min(end, line.size()));
  size_t start = before.size() >= text.size() ? before.size() - text.size() : 0;
  std::string lead = trim(before);
  if (starts_with(lead, ":")) {
    size_t space = lead.find(' ');
    if (space == std::string::npos) {
      add_matching(out, repl_commands(), text);
      return out;
    }
    std::string command = lead.substr(0, space);
    if (command == ":doc" || command == ":d" || command == ":help" || command == ":h") {
      std::vector<std::string> names;
      for (const auto& [name, entry] : builtins().all()) names.push_back(name);
      if (command == ":doc" || command == ":d") {
        for (const auto& k : grammar_keywords()) names.push_back(k);
      }
      add_matching(out, names, text);
      return out;
    }
    before = before.substr(before.find(command) + command.size());
    start = before.size() >= text.size() ? before.size() - text.size() : 0;
  }
  auto dot = text.rfind('.');
  if (dot != std::string::npos) {
    std::string head = text.substr(0, dot);
    add_matching(out, members_of(head, globals), text.substr(dot + 1), head + ".");
  } else {
    auto [callee, args] = open_call(before.substr(0, start));
    if (!callee.empty()) {
      static const std::regex kNamed("([A-Za-z_][A-Za-z_0-9]*)\\s*:");
      std::set<std::string> given;
      for (auto it = std::sregex_iterator(args.begin(), args.end(), kNamed);
           it != std::sregex_iterator(); ++it) {
        given.insert((*it)[1]);
      }
      for (const auto& p : named_parameters(callee, globals)) {
        if (!given.count(p) && starts_with(p, text)) out.push_back(p + ":");
      }
    }
    std::set<std::string> names(grammar_keywords().begin(), grammar_keywords().end());
    for (const auto& n : builtins().global_names()) names.insert(n);
    for (const auto& m : builtin_modules()) names.insert(m);
    if (globals) {
      for (const auto& [n, v] : globals->vars) names.insert(n);
    }
    add_matching(out, std::vector<std::string>(names.begin(), names.end()), text);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string help_text(const std::string& name) {
  if (name.empty()) {
    std::ostringstream out;
    out << kCommandsHelp << "\nbuiltins:";
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

std::string doc_text(const std::string& name) {
  if (name.empty()) return "usage: :doc NAME (a builtin or a keyword, e.g. :doc PGD)\n";
  const Builtin* b = builtins().find(name);
  if (b) return reference_entry_text(*b);
  const auto& keywords = grammar_keywords();
  if (std::find(keywords.begin(), keywords.end(), name) != keywords.end()) {
    const KeywordDoc* doc = keyword_doc(name);
    if (!doc) return name + " (keyword)\n";
    return name + " (keyword)\n  " + doc->what + "\n  example:\n    " + doc->example + "\n";
  }
  return help_text(name);
}

int run_repl(const RunOptions& options) {
  bool terminal = isatty(STDIN_FILENO);
  Palette palette;
  palette.on = isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
  std::string history = history_path();
  Session session(options, std::cerr, palette.on);
  if (terminal) {
    using_history();
    read_history(history.c_str());
    set_up_completion(session.interpreter().globals());
    std::cout << "Perturb "
              << "0.1.0"
              << " — :help for builtins, :doc NAME for one, Tab completes, :quit to leave\n";
  }
  const std::string prompt = palette.prompt("ptb>");
  const std::string continuation = palette.prompt("...>");
  std::string pending;
  std::string line;
  int inputs = 0;
  while (read_line(pending.empty() ? prompt : continuation, terminal, line)) {
    std::string trimmed = trim(line);
    if (pending.empty() && trimmed.empty()) continue;
    if (pending.empty() && trimmed[0] == ':') {
      if (terminal) add_history(trimmed.c_str());
      std::string command = trimmed.substr(0, trimmed.find(' '));
      std::string argument = trim(trimmed.substr(command.size()));
      if (command == ":quit" || command == ":q") break;
      if (command == ":help" || command == ":h") {
        std::cout << help_text(argument);
      } else if (command == ":doc" || command == ":d") {
        std::cout << doc_text(argument);
      } else if (command == ":type" || command == ":t") {
        type_of(session, argument);
      } else if (command == ":load" || command == ":l") {
        if (argument.empty()) {
          std::cout << palette.error("usage: :load FILE") << "\n";
          continue;
        }
        int status = kExitOk;
        auto since = std::filesystem::file_time_type::clock::now();
        auto source = read_source(argument, std::cerr, status);
        if (!source) continue;
        std::cout.flush();
        Outcome outcome = session.run(*source);
        std::cout.flush();
        report_saved((*source)->text, since, palette);
        if (outcome.status == kExitOk) std::cout << palette.note("loaded " + argument) << "\n";
      } else {
        std::cout << palette.error("unknown command " + command) << "; " << kCommandsHelp << "\n";
      }
      std::cout.flush();
      continue;
    }
    pending += line + "\n";
    auto source = std::make_shared<SourceFile>("<repl:" + std::to_string(++inputs) + ">", pending);
    auto since = std::filesystem::file_time_type::clock::now();
    Outcome outcome = session.run_interactive(source);
    if (outcome.incomplete) {
      --inputs;
      continue;
    }
    if (terminal) add_history(trim(pending).c_str());
    if (outcome.value && !outcome.value->is_none())
      std::cout << format_value(*outcome.value, true) << "\n";
    report_saved(pending, since, palette);
    pending.clear();
    std::cout.flush();
  }
  if (terminal) write_history(history.c_str());
  return kExitOk;
}

}  // namespace perturb::lang
