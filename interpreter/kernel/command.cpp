// `perturb kernel ...`: the command line of the kernel, its signal handling and its start.

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include <xeus/xkernel.hpp>
#include <xeus/xkernel_configuration.hpp>
#include <xeus/xserver_zmq.hpp>

#include "interpreter/kernel/install.h"
#include "interpreter/kernel/interpreter.h"
#include "interpreter/kernel/kernel.h"
#include "interpreter/large_stack.h"
#include "runtime/core/interrupt.h"
#include "runtime/core/memory_settings.h"
#include "runtime/core/threads.h"

namespace perturb::lang {
namespace {

constexpr const char* kKernelUsage =
    R"(usage: perturb kernel -f CONNECTION_FILE [--seed N] [--device D]
       perturb kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]

  kernel -f FILE   serve a Jupyter notebook (Jupyter starts this; FILE is its connection file)
  kernel install   write the kernelspec Jupyter finds the kernel by (default: --user, in
                   ~/.local/share/jupyter/kernels/perturb); see docs/notebook.md
)";

struct ServeOptions {
  std::string connection_file;
  RunOptions run;
};

int kernel_usage_error(const std::string& message) {
  std::cerr << "perturb kernel: " << message << "\n" << kKernelUsage;
  return kExitUsage;
}

// The word after args[i], or nullopt at the end.
std::optional<std::string> next_word(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) return std::nullopt;
  return args[++i];
}

int install_command(const std::vector<std::string>& args) {
  KernelspecPlace place;
  int scopes = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--user") {
      place.scope = KernelspecPlace::Scope::kUser;
      ++scopes;
    } else if (a == "--sys-prefix") {
      place.scope = KernelspecPlace::Scope::kSysPrefix;
      ++scopes;
    } else if (a == "--prefix" || a == "--name") {
      auto value = next_word(args, i);
      if (!value || value->empty()) return kernel_usage_error(a + " needs a value");
      (a == "--prefix" ? place.prefix : place.name) = *value;
      if (a == "--prefix") {
        place.scope = KernelspecPlace::Scope::kPrefix;
        ++scopes;
      }
    } else {
      return kernel_usage_error("unknown argument '" + a + "' for install");
    }
  }
  if (scopes > 1) return kernel_usage_error("give one of --user, --prefix DIR, --sys-prefix");
  if (!valid_kernel_name(place.name))
    return kernel_usage_error("--name takes letters, digits, '.', '_' and '-', got '" + place.name +
                              "'");
  return install_kernelspec(place, std::cout, std::cerr);
}

// Parses `-f FILE [--seed N] [--device D]`; returns -1 to go on, or an exit code.
int parse_serve_arguments(const std::vector<std::string>& args, ServeOptions& options) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a != "-f" && a != "--connection-file" && a != "--seed" && a != "--device")
      return kernel_usage_error("unknown argument '" + a + "'");
    auto value = next_word(args, i);
    if (!value) return kernel_usage_error(a + " needs a value");
    if (a == "-f" || a == "--connection-file") {
      options.connection_file = *value;
    } else if (a == "--seed") {
      char* end = nullptr;
      options.run.seed = std::strtoull(value->c_str(), &end, 10);
      if (value->empty() || *end != '\0' || (*value)[0] == '-')
        return kernel_usage_error("--seed needs a whole number >= 0, got '" + *value + "'");
    } else if (a == "--device") {
      options.run.device = *value;
      if (*value != "cpu" && value->rfind("cuda", 0) != 0)
        return kernel_usage_error("--device is cpu or cuda, got '" + *value + "'");
    }
  }
  if (options.connection_file.empty()) return kernel_usage_error("missing -f CONNECTION_FILE");
  return -1;
}

// Jupyter interrupts a kernel with SIGINT (interrupt_mode "signal"). A SIGINT that lands in
// ZeroMQ's poll would end it with EINTR, and a handler may do nothing but set a flag; so every
// thread started from here on blocks SIGINT, and one thread waits for it and records a request
// that the running cell honours at its next loop iteration, call or training step.
void route_interrupts_to_cells() {
  sigset_t interrupts;
  sigemptyset(&interrupts);
  sigaddset(&interrupts, SIGINT);
  pthread_sigmask(SIG_BLOCK, &interrupts, nullptr);
  std::thread([interrupts] {
    for (;;) {
      int signal = 0;
      if (sigwait(&interrupts, &signal) == 0) perturb::request_interrupt();
    }
  }).detach();
}

int serve(const ServeOptions& options) {
  xeus::xconfiguration config;
  if (!std::ifstream(options.connection_file)) {  // xeus would report an empty JSON document
    std::cerr << "perturb kernel: cannot read the connection file " << options.connection_file
              << ": " << std::strerror(errno) << "\n";
    return kExitIo;
  }
  try {
    config = xeus::load_configuration(options.connection_file);
  } catch (const std::exception& e) {
    std::cerr << "perturb kernel: cannot read the connection file " << options.connection_file
              << ": " << e.what() << "\n";
    return kExitIo;
  }
  auto context = xeus::make_context<zmq::context_t>();
  auto interpreter = std::make_unique<KernelInterpreter>(options.run);
  xeus::xkernel kernel(config, xeus::get_user_name(), std::move(context), std::move(interpreter),
                       xeus::make_xserver_zmq);
  kernel.start();  // returns after a shutdown request
  return kExitOk;
}

int serve_command(const std::vector<std::string>& args) {
  ServeOptions options;
  if (int status = parse_serve_arguments(args, options); status >= 0) return status;
  route_interrupts_to_cells();
  // Logs go to stderr, which Jupyter shows in the server's log, not in the notebook.
  spdlog::set_default_logger(spdlog::stderr_color_mt("perturb"));
  spdlog::set_level(spdlog::level::warn);
  spdlog::info("{}", perturb::configure_memory());
  return run_on_large_stack([&] {
    try {
      perturb::apply_threads(perturb::choose_threads(std::nullopt));
      return serve(options);
    } catch (const std::exception& e) {
      std::cerr << "perturb kernel: " << e.what() << "\n";
      return kExitRuntime;
    }
  });
}

}  // namespace

int kernel_command(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kKernelUsage;
    return kExitOk;
  }
  if (!args.empty() && args[0] == "install") return install_command(args);
  return serve_command(args);
}

}  // namespace perturb::lang
