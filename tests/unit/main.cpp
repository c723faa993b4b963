// Catch2's main, alone in its file so editing a test does not recompile it.
#define CATCH_CONFIG_RUNNER
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  // The runtime logs each training epoch at info level; keep test output to failures.
  spdlog::set_level(spdlog::level::warn);
  return Catch::Session().run(argc, argv);
}
