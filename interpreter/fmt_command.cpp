// perturb fmt: formats files in place, checks them (--check), or filters stdin to stdout.

#include "interpreter/fmt_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "interpreter/format.h"

namespace perturb::lang {
namespace {

// The exit statuses of session.h (sysexits), which this torch-free library cannot include.
constexpr int kOk = 0;
constexpr int kWouldChange = 1;
constexpr int kUsage = 64;
constexpr int kScript = 65;
constexpr int kIo = 74;

constexpr const char* kFmtUsage = R"(usage: perturb fmt [--check] [FILE.ptb ...]

Rewrites each FILE in the canonical layout (docs/formatting.md). With no FILE, or
FILE -, reads stdin and writes the formatted script to stdout.

  --check   rewrite nothing; list the files that are not formatted and exit 1
)";

struct Options {
  bool check = false;
  std::vector<std::string> files;
};

std::string first_difference(const std::string& before, const std::string& after) {
  std::istringstream a(before), b(after);
  std::string line_a, line_b;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) return "  (line endings or trailing whitespace)\n";
    if (more_a && more_b && line_a == line_b) continue;
    std::string hint = "  line " + std::to_string(line) + ":\n";
    hint += more_a ? "  - " + line_a + "\n" : "  - (end of file)\n";
    hint += more_b ? "  + " + line_b + "\n" : "  + (end of file)\n";
    return hint;
  }
}

// Writes `text` next to `path` and renames it over `path`, so a reader sees the old file or the
// new one, never half of one; the file keeps its permissions.
bool replace_file(const std::string& path, const std::string& text, std::string& error) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    error = std::strerror(errno);
    return false;
  }
  std::string temp = path + ".fmt-XXXXXX";
  const int fd = mkstemp(temp.data());
  if (fd < 0) {
    error = std::string("cannot create a temporary file beside it: ") + std::strerror(errno);
    return false;
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool ok = written == text.size() && fchmod(fd, info.st_mode & 07777) == 0 &&
                  fsync(fd) == 0 && close(fd) == 0;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    error = std::strerror(errno);
    if (ok) error = "cannot replace it: " + error;
    std::remove(temp.c_str());
    return false;
  }
  return true;
}

// Formats one script; returns its exit status.
int format_one(const std::string& name, const std::string& text, const Options& options,
               bool from_stdin) {
  auto source = std::make_shared<SourceFile>(name, text);
  FormatResult result = format_source(source);
  if (result.errors.has_errors()) {
    std::cerr << result.errors.render_all(isatty(STDERR_FILENO));
    std::cerr << name << ": not formatted: it does not parse\n";
    return kScript;
  }
  const bool changed = result.text != text;
  if (options.check) {
    if (!changed) return kOk;
    std::cout << name << ": not formatted\n" << first_difference(text, result.text);
    return kWouldChange;
  }
  if (from_stdin) {
    std::cout << result.text;
    return kOk;
  }
  if (!changed) return kOk;
  std::string error;
  if (!replace_file(name, result.text, error)) {
    std::cerr << name << ": error: cannot write the formatted script: " << error << "\n";
    return kIo;
  }
  return kOk;
}

int format_path(const std::string& path, const Options& options) {
  if (path == "-") {
    std::stringstream text;
    text << std::cin.rdbuf();
    return format_one("<stdin>", text.str(), options, true);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << path << ": error: cannot read the script: " << std::strerror(errno) << "\n";
    return kIo;
  }
  std::stringstream text;
  text << in.rdbuf();
  return format_one(path, text.str(), options, false);
}

}  // namespace

int run_fmt(const std::vector<std::string>& args) {
  Options options;
  for (const std::string& arg : args) {
    if (arg == "--check") {
      options.check = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kFmtUsage;
      return kOk;
    } else if (arg.size() > 1 && arg[0] == '-') {
      std::cerr << "perturb fmt: unknown option '" << arg << "'\n" << kFmtUsage;
      return kUsage;
    } else {
      options.files.push_back(arg);
    }
  }
  if (options.files.empty()) options.files.push_back("-");
  // The most serious outcome decides the status: an unreadable file, one that does not parse,
  // one --check would change.
  int status = kOk;
  for (const std::string& path : options.files) {
    status = std::max(status, format_path(path, options));
  }
  return status;
}

}  // namespace perturb::lang
