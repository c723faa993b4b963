// Writes that never leave a half-written file behind: temp file in the same directory + rename.
#pragma once

#include <functional>
#include <string>

namespace perturb {

// Writes `content` to `path` atomically. Throws IoError naming the path.
void write_file_atomic(const std::string& path, const std::string& content);

// Calls `writer(temp_path)` with `path + ".tmp.<pid>"`, then renames it over `path`. Creates
// missing parent directories; removes the temp file if the writer throws (and rethrows);
// throws IoError naming the path when the rename or directory creation fails.
void write_atomic(const std::string& path,
                  const std::function<void(const std::string& temp_path)>& writer);

}  // namespace perturb
