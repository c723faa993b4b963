// perturb run|check|repl: the command line. Exit codes follow sysexits (see session.h).

#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "interpreter/fmt_command.h"
#include "interpreter/kernel/kernel.h"
#include "interpreter/large_stack.h"
#include "interpreter/launch.h"
#include "interpreter/lsp/server.h"
#include "interpreter/reference.h"
#include "interpreter/repl.h"
#include "interpreter/session.h"
#include "runtime/core/error.h"
#include "runtime/core/interrupt.h"
#include "runtime/core/limits.h"
#include "runtime/core/memory_settings.h"
#include "runtime/core/progress.h"
#include "runtime/core/threads.h"
#include "runtime/distributed/world.h"

namespace {

using namespace perturb::lang;

constexpr const char* kVersion = "0.1.0";

constexpr const char* kUsage = R"(usage: perturb <command> [options] [FILE.ptb]

commands:
  run FILE      parse, check and run a script
  check FILE    parse and check a script; touches no tensors
  repl          an interactive session
  lsp           a language server for editors (JSON-RPC on stdin/stdout)
  reference     print the builtin reference (docs/reference.md); --json for tools
  fmt FILE...   rewrite scripts in the canonical layout; --check lists, changes nothing
  kernel        a Jupyter kernel; `perturb kernel install` adds it to Jupyter
                (docs/notebook.md)

options:
  --seed N         seed for every random thing (default 0)
  --device D       cpu or cuda (default: cuda when LibTorch has it, else cpu)
  --threads N      CPU threads for tensor work (default: PERTURB_THREADS, else
                   OMP_NUM_THREADS, else every core this process may use)
  --nproc N        run N worker processes of this machine as one c10d group
                   (under torchrun, perturb joins the launcher's group instead)
  --timeout S      stop the script after S seconds (exit 70; training writes
                   its checkpoint first)
  --max-memory M   stop the script when it holds more than M of memory (e.g.
                   2G, 512M; exit 70); larger tensors are refused up front
  --verbose        log what the runtime does (to stderr)
  --help           this text
  --version        the version
)";

struct Options {
  std::string command;
  std::string file;
  RunOptions run;
  std::optional<int> threads;      // --threads N
  std::optional<int> nproc;        // --nproc N: worker processes on this machine
  perturb::ResourceLimits limits;  // --timeout, --max-memory
  bool verbose = false;
  bool json = false;  // reference --json
};

int usage_error(const std::string& message) {
  std::cerr << "perturb: " << message << "\n" << kUsage;
  return kExitUsage;
}

// A whole number from 1 to 4096 (threads, processes), or nullopt.
std::optional<int> positive_count(const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > 4096) return std::nullopt;
  return static_cast<int>(value);
}

// Parses argv into `options`; returns -1 to go on, or an exit code.
int parse_arguments(int argc, char** argv, Options& options) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(flag + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return kExitOk;
    } else if (a == "--version") {
      std::cout << "perturb " << kVersion << "\n";
      return kExitOk;
    } else if (a == "--json") {
      options.json = true;
    } else if (a == "--verbose" || a == "-v") {
      options.verbose = true;
    } else if (a == "--seed") {
      std::string text = value(a);
      char* end = nullptr;
      unsigned long long seed = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || text[0] == '-')
        return usage_error("--seed needs a whole number >= 0, got '" + text + "'");
      options.run.seed = seed;
    } else if (a == "--threads" || a == "--nproc") {
      const std::string text = value(a);
      const auto count = positive_count(text);
      if (!count) return usage_error(a + " needs a whole number >= 1, got '" + text + "'");
      (a == "--threads" ? options.threads : options.nproc) = *count;
    } else if (a == "--timeout") {
      const std::string text = value(a);
      char* end = nullptr;
      const double seconds = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !(seconds > 0) || !std::isfinite(seconds))
        return usage_error("--timeout needs a number of seconds > 0, got '" + text + "'");
      options.limits.timeout_seconds = seconds;
    } else if (a == "--max-memory") {
      const std::string text = value(a);
      options.limits.max_memory_bytes = perturb::parse_bytes(text);
      if (!options.limits.max_memory_bytes)
        return usage_error("--max-memory needs a size such as 2G or 512M, got '" + text + "'");
    } else if (a == "--device") {
      options.run.device = value(a);
      if (options.run.device != "cpu" && options.run.device.rfind("cuda", 0) != 0) {
        return usage_error("--device is cpu or cuda, got '" + options.run.device + "'");
      }
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option '" + a + "'");
    } else if (options.command.empty()) {
      options.command = a;
    } else if (options.file.empty()) {
      options.file = a;
    } else {
      return usage_error("unexpected argument '" + a + "'");
    }
  }
  if (options.command.empty()) return usage_error("missing command");
  if (options.command != "run" && options.command != "check" && options.command != "repl" &&
      options.command != "reference" && options.command != "lsp") {
    return usage_error("unknown command '" + options.command + "'");
  }
  if (options.command == "reference" || options.command == "lsp") return -1;
  if (options.command != "repl" && options.file.empty())
    return usage_error(options.command + " needs a script file");
  return -1;
}

// Each line of `text` behind "[rank R] ".
std::string with_rank(const std::string& text, int rank) {
  const std::string prefix = "[rank " + std::to_string(rank) + "] ";
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const size_t stop = end == std::string::npos ? text.size() : end + 1;
    out += prefix + text.substr(start, stop - start);
    start = stop;
  }
  return out;
}

// A worker of a group: the error names the rank that hit it. Errors the checker finds are the
// same on every rank (they all run the same script), so rank 0 alone reports those.
int run_file_on_rank(const Options& options, const SourcePtr& source, const perturb::World& world) {
  std::ostringstream err;
  Session session(options.run, err, false);
  const int status = session.run(source, options.command == "check").status;
  if (status != kExitScript || world.rank() == 0) std::cerr << with_rank(err.str(), world.rank());
  return status;
}

int run_file(const Options& options) {
  int status = kExitOk;
  auto source = read_source(options.file, std::cerr, status);
  if (!source) return status;
  if (const perturb::World* world = perturb::process_world())
    return run_file_on_rank(options, *source, *world);
  Session session(options.run, std::cerr, isatty(STDERR_FILENO));
  return session.run(*source, options.command == "check").status;
}

// A worker of a group (--nproc or torchrun): joins it before the script runs, so a group that
// cannot form ends every rank with an error instead of a hang. Ranks other than 0 write no
// stdout and draw no progress bars, so the script's output appears once.
void join_world_from_environment() {
  const auto config = perturb::world_from_environment();
  if (!config) return;
  perturb::set_process_world(perturb::World::join(*config));
  spdlog::set_pattern("[%H:%M:%S] [rank " + std::to_string(config->rank) + "] %v");
  spdlog::info("rank {} of {} joined at {}:{}", config->rank, config->size, config->master_addr,
               config->master_port);
  if (config->rank != 0) {
    perturb::Progress::disable_all();
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
  }
}

int run_command(const Options& options) {
  try {
    if (options.command == "run" || options.command == "repl") {
      const auto threads = perturb::apply_threads(perturb::choose_threads(options.threads));
      spdlog::info("{}", perturb::describe(threads));
    }
    if (options.command == "run") {
      join_world_from_environment();
      // Ctrl-C stops a training run at its next step with a checkpoint (runtime/core/interrupt.h).
      perturb::install_interrupt_handlers();
      perturb::watch_resource_limits(options.limits);
    }
    if (options.command == "repl") return run_repl(options.run);
    if (options.command == "lsp") return lsp::run_language_server();
    if (options.command == "reference") {
      std::cout << (options.json ? reference_json() : reference_markdown());
      return kExitOk;
    }
    return run_file(options);
  } catch (const perturb::Error& e) {
    // Only setup can fail here (e.g. --device cuda without CUDA); scripts report their own.
    std::cerr << "perturb: error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "perturb: internal error: " << e.what() << "\n";
    return kExitRuntime;
  }
}

// argv without the program name and without --nproc and its value.
std::vector<std::string> worker_arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--nproc") {
      ++i;
      continue;
    }
    args.push_back(argv[i]);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  // perturb fmt has options of its own (interpreter/fmt_command.h).
  if (argc >= 2 && std::string(argv[1]) == "fmt") {
    return run_on_large_stack([&] { return run_fmt({argv + 2, argv + argc}); });
  }
  // The kernel has its own arguments (Jupyter's -f CONNECTION_FILE, install's options).
  if (argc > 1 && std::string(argv[1]) == "kernel")
    return kernel_command(std::vector<std::string>(argv + 2, argv + argc));
  Options options;
  try {
    int status = parse_arguments(argc, argv, options);
    if (status >= 0) return status;
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  // Logs go to stderr, so that a script's printed results on stdout stay clean for pipes.
  spdlog::set_default_logger(spdlog::stderr_color_mt("perturb"));
  spdlog::set_level(options.verbose ? spdlog::level::info : spdlog::level::warn);
  spdlog::set_pattern("[%H:%M:%S] %v");
  spdlog::info("{}", perturb::configure_memory());
  if (options.nproc.value_or(1) > 1 && !std::getenv("WORLD_SIZE")) {
    return launch_workers(*options.nproc, worker_arguments(argc, argv),
                          options.threads || std::getenv("PERTURB_THREADS")
                              ? 0
                              : std::max(1, perturb::usable_cores() / *options.nproc));
  }
  return run_on_large_stack([&] { return run_command(options); });
}
