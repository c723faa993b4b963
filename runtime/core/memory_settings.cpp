#include "runtime/core/memory_settings.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace perturb {

namespace {

constexpr int kMmapThreshold = 1 << 30;  // bytes; larger blocks still get their own mapping
constexpr int kTrimThreshold = 256 << 20;
constexpr const char* kPrimitiveCacheEntries = "64";

bool user_chose_malloc_settings() {
  const char* choice = std::getenv("PERTURB_MALLOC");
  if (choice && std::strcmp(choice, "system") == 0) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables && std::strstr(tunables, "glibc.malloc.");
}

std::string configure_malloc() {
  if (user_chose_malloc_settings()) return "glibc's malloc settings (as the environment asks)";
  const bool ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
                  mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  return ok ? "malloc keeps blocks under 1 GiB on the heap and up to 256 MiB free"
            : "glibc refused the malloc settings; its defaults apply";
}

}  // namespace

std::string configure_memory() {
  // oneDNN reads the variable when it creates its first primitive; overwrite=0 keeps the user's.
  setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", kPrimitiveCacheEntries, /*overwrite=*/0);
  return "memory: " + configure_malloc() + "; oneDNN primitive cache " +
         std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") + " entries";
}

}  // namespace perturb
