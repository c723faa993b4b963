// An evaluate report as a CSV table for pandas: the printed table's rows, clean and each attack.
#pragma once

#include <string>

#include "runtime/eval/evaluate.h"

namespace perturb {

// Columns attack, accuracy, attacked, gradient_evals, queries, gradient_evals_saved,
// early_stop, seconds; a row "clean", then one per attack, whose accuracy is the robust
// accuracy after it in the cascade, as in the table. A sweep repeats them for each eps, with an
// eps column first. The table's "worst case" row is left out: it is the last row's accuracy.
std::string report_csv(const EvalReport& report);

}  // namespace perturb
