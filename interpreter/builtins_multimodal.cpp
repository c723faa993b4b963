#include "interpreter/builtins.h"
#include "interpreter/train_dispatch.h"

namespace perturb::lang {

// Helper B replaces this with contrastive/TeCoA/MAT training (issue 7, in progress).
Value train_two_tower(CallArgs& args) {
  args.fail("training a two-tower model is not in this build yet");
}

void register_multimodal_builtins(BuiltinTable& t) { (void)t; }

}  // namespace perturb::lang
