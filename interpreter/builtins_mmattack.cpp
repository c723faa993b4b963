#include "interpreter/builtins.h"

namespace perturb::lang {

void register_mmattack_builtins(BuiltinTable& t) {
  (void)t;
}

}  // namespace perturb::lang
