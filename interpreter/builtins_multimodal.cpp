#include "interpreter/builtins.h"

namespace perturb::lang {

void register_multimodal_builtins(BuiltinTable& t) {
  (void)t;
}

}  // namespace perturb::lang
