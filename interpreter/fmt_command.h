#pragma once
// `perturb fmt [--check] [FILE...]`: the formatter's command line (docs/formatting.md).

#include <string>
#include <vector>

namespace perturb::lang {

// `args` are the words after `fmt`. Rewrites each FILE in place (atomically, keeping its mode),
// or with --check rewrites nothing and lists the files that would change. `-` or no FILE reads
// stdin and writes stdout. Returns 0; 1 when --check found a file to change; 65 when a file does
// not parse (it is left as it was); 64 for a bad option; 74 when a file cannot be read or written.
int run_fmt(const std::vector<std::string>& args);

}  // namespace perturb::lang
