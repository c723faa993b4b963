// Shared between tokenizer.cpp and tokenizer_bpe.cpp: the serialized form of CLIP's tokenizer.
#pragma once
#include <sstream>

#include "runtime/text/tokenizer.h"

namespace perturb {

constexpr const char* kClipBpeHeader = "clip_bpe v1";

// Reads what ClipBpe::serialize wrote after its header line.
TokenizerPtr read_clip_bpe(std::istringstream& in);

}  // namespace perturb
