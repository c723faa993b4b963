#pragma once
// `perturb kernel install`: the kernelspec directory Jupyter finds the kernel by
// (KERNELS_DIR/NAME/kernel.json and a logo), written whole or not at all.

#include <optional>
#include <ostream>
#include <string>

namespace perturb::lang {

struct KernelspecPlace {
  enum class Scope { kUser, kPrefix, kSysPrefix } scope = Scope::kUser;
  std::string prefix;  // for kPrefix
  std::string name = "perturb";
};

// The `kernels` directory of a place: ~/.local/share/jupyter/kernels (or $JUPYTER_DATA_DIR,
// $XDG_DATA_HOME) for --user; PREFIX/share/jupyter/kernels for --prefix; the active Python
// environment's ($VIRTUAL_ENV, $CONDA_PREFIX, else /usr) for --sys-prefix.
std::string kernels_directory(const KernelspecPlace& place);

// Whether `name` may name a kernelspec (letters, digits, '.', '_', '-').
bool valid_kernel_name(const std::string& name);

// The kernel.json text for the perturb binary at `executable`.
std::string kernelspec_json(const std::string& executable);

// Writes the kernelspec for the running binary; says where on `out`. Returns the exit code;
// an unwritable place is reported on `err` (exit 73, can't create).
int install_kernelspec(const KernelspecPlace& place, std::ostream& out, std::ostream& err);

}  // namespace perturb::lang
