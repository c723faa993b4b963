#include "interpreter/builtins.h"

namespace perturb::lang {

void register_ma2t_builtins(BuiltinTable& t) {
  (void)t;
}

}  // namespace perturb::lang
