// `perturb kernel` in a build without xeus (PERTURB_KERNEL=OFF, or xeus-dev not installed): the
// command exists and says what the build lacks, as the README's troubleshooting expects.

#include <iostream>

#include "interpreter/kernel/kernel.h"

namespace perturb::lang {

int kernel_command(const std::vector<std::string>& /*args*/) {
  std::cerr << "perturb: this build has no Jupyter kernel: it was built without xeus "
               "(install xeus-dev, scripts/setup.sh does, and rebuild)\n";
  return 70;
}

}  // namespace perturb::lang
