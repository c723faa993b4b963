// Two-tower models exported from PyTorch with torch.jit.script/trace:
// - one module with methods encode_image(x) → [N, d] and encode_text(ids, mask) → [N, d] and a
//   `logit_scale` attribute (a parameter or tensor, log(1/τ) as CLIP's);
// - or two modules, an image encoder whose forward(x) gives [N, d] and a text encoder whose
//   forward(ids, mask) gives [N, d]; the logit scale is then a parameter of ours, log(1/0.07)
//   unless one of the modules has a `logit_scale` attribute.
// The tokenizer is the user's (CLIP BPE vocabulary, a word list, or one built from captions);
// ids and mask are int64 [N, L]. A missing file, a file that is not TorchScript, a missing
// method or attribute → Error naming the file and what is missing.
#pragma once

#include <string>

#include "runtime/model/two_tower.h"

namespace perturb {

TwoTowerPtr load_torchscript_two_tower(const std::string& path, TokenizerPtr tokenizer,
                                       torch::Device device);
TwoTowerPtr load_torchscript_two_tower(const std::string& image_path, const std::string& text_path,
                                       TokenizerPtr tokenizer, torch::Device device);

// A TorchScript two-tower saved by save() (the module with the tokenizer as an extra file):
// nullptr when `path` is not one.
TwoTowerPtr load_saved_torchscript_two_tower(const std::string& path, torch::Device device);

}  // namespace perturb
