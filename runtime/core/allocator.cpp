#include "runtime/core/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace perturb {

namespace {

constexpr int kMmapThreshold = 1 << 30;  // bytes; larger blocks still get their own mapping
constexpr int kTrimThreshold = 256 << 20;

bool user_chose_malloc_settings() {
  const char* choice = std::getenv("PERTURB_MALLOC");
  if (choice && std::strcmp(choice, "system") == 0) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables && std::strstr(tunables, "glibc.malloc.");
}

}  // namespace

std::string keep_freed_memory() {
  if (user_chose_malloc_settings()) return "malloc: glibc's settings (as the environment asks)";
  const bool ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
                  mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  return ok ? "malloc: blocks under 1 GiB stay on the heap, up to 256 MiB of free memory kept"
            : "malloc: glibc refused the settings; its defaults apply";
}

}  // namespace perturb
