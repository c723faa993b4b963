#pragma once
// Pieces of retrieval()'s builtin (builtins/retrieval.cpp) that cross_modal_retrieval shares.

#include <vector>

#include "interpreter/builtins/table.h"
#include "runtime/eval/retrieval.h"

namespace perturb::lang {

// The k argument: a number or a list of whole numbers ≥ 1 (errors at the argument).
std::vector<int64_t> retrieval_ks(CallArgs& args);
// {k, recall, cmc, map, queries, unmatched}
RecordPtr retrieval_record(const RetrievalResult& result);

}  // namespace perturb::lang
