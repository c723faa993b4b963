#include "runtime/core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "runtime/core/error.h"

namespace perturb {
namespace fs = std::filesystem;

void write_file_atomic(const std::string& path, const std::string& content) {
  write_atomic(path, [&](const std::string& temp_path) {
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
  });
}

void write_atomic(const std::string& path,
                  const std::function<void(const std::string& temp_path)>& writer) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw IoError("cannot create directory '" + parent.string() + "': " + ec.message());

  // Same directory as the target so rename() stays on one file system and is atomic.
  const std::string temp_path = path + ".tmp." + std::to_string(::getpid());
  try {
    writer(temp_path);
  } catch (...) {
    fs::remove(temp_path, ec);
    throw;
  }
  if (std::rename(temp_path.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    fs::remove(temp_path, ec);
    throw IoError("cannot write '" + path + "': " + reason);
  }
}

}  // namespace perturb
