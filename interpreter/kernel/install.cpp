#include "interpreter/kernel/install.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "runtime/report/image_grid.h"

namespace perturb::lang {
namespace fs = std::filesystem;
namespace {

constexpr int kExitCantCreate = 73;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string user_data_directory() {
  if (auto dir = environment("JUPYTER_DATA_DIR"); !dir.empty()) return dir;
  if (auto dir = environment("XDG_DATA_HOME"); !dir.empty()) return dir + "/jupyter";
  return environment("HOME") + "/.local/share/jupyter";
}

// A 64×64 logo: the Perturb colours as a smooth image with a checkerboard of small
// perturbations on it, drawn by the image-grid code.
void write_logo(const fs::path& path) {
  const auto ramp = torch::linspace(0, 1, 60);
  auto image =
      torch::stack({ramp.unsqueeze(0).expand({60, 60}) * 0.8 + 0.1, torch::full({60, 60}, 0.35),
                    ramp.unsqueeze(1).expand({60, 60}) * 0.6 + 0.3});
  const auto cells = torch::arange(60).div(6, "floor");
  auto checks = (cells.unsqueeze(0) + cells.unsqueeze(1)).remainder(2);
  image = (image + 0.12 * (checks.to(torch::kFloat32) * 2 - 1)).clamp(0, 1);
  ImageGridOptions options;
  options.scale = 1;
  const auto png = encode_image_grid({GridRow{"", image}}, options);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
}

// The directory `staged` takes the place of `target`, in one step when `target` exists (so a
// Jupyter listing kernels never sees half a kernelspec).
void replace_directory(const fs::path& staged, const fs::path& target) {
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0)
    return;
  if (errno != EEXIST)
    throw fs::filesystem_error("cannot move the kernelspec into place", staged, target,
                               std::error_code(errno, std::generic_category()));
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0)
    throw fs::filesystem_error("cannot replace the kernelspec", staged, target,
                               std::error_code(errno, std::generic_category()));
  fs::remove_all(staged);  // now the old kernelspec
}

}  // namespace

std::string kernels_directory(const KernelspecPlace& place) {
  switch (place.scope) {
    case KernelspecPlace::Scope::kUser:
      return user_data_directory() + "/kernels";
    case KernelspecPlace::Scope::kPrefix:
      return place.prefix + "/share/jupyter/kernels";
    case KernelspecPlace::Scope::kSysPrefix: {
      std::string prefix = environment("VIRTUAL_ENV");
      if (prefix.empty()) prefix = environment("CONDA_PREFIX");
      if (prefix.empty()) prefix = "/usr";
      return prefix + "/share/jupyter/kernels";
    }
  }
  return "";
}

bool valid_kernel_name(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9._-]+");
  return std::regex_match(name, kName) && name != "." && name != "..";
}

std::string kernelspec_json(const std::string& executable) {
  const nlohmann::json spec{
      {"argv", {executable, "kernel", "-f", "{connection_file}"}},
      {"display_name", "Perturb"},
      {"language", "perturb"},
      {"interrupt_mode", "signal"},
      {"metadata", {{"debugger", false}}},
  };
  return spec.dump(2) + "\n";
}

int install_kernelspec(const KernelspecPlace& place, std::ostream& out, std::ostream& err) {
  const fs::path kernels = kernels_directory(place);
  const fs::path target = kernels / place.name;
  try {
    const fs::path executable = fs::read_symlink("/proc/self/exe");
    fs::create_directories(kernels);
    const fs::path staged = kernels / ("." + place.name + ".tmp" + std::to_string(::getpid()));
    fs::remove_all(staged);
    fs::create_directory(staged);
    std::ofstream json(staged / "kernel.json");
    json << kernelspec_json(executable.string());
    json.close();
    if (!json) throw std::runtime_error("cannot write kernel.json");
    write_logo(staged / "logo-64x64.png");
    replace_directory(staged, target);
  } catch (const std::exception& e) {
    err << "perturb: cannot install the kernelspec in " << kernels.string() << ": " << e.what()
        << "\n";
    return kExitCantCreate;
  }
  out << "installed the Perturb kernel (" << place.name << ") in " << target.string() << "\n";
  return 0;
}

}  // namespace perturb::lang
