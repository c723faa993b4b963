// Robust accuracy under a cascade of attacks (AutoAttack's way).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/attack/attack.h"
#include "runtime/data/dataset.h"
#include "runtime/eval/examples.h"
#include "runtime/model/model.h"

namespace perturb {

struct NamedAttack {
  std::string name;
  AttackPtr attack;
};

struct AttackResult {
  std::string name;
  double accuracy = 0;  // robust accuracy after this attack in the cascade
  double seconds = 0;
  int64_t attacked = 0;  // samples this attack ran on (those still robust)
  // Whether it ran with early stop (fooled samples left its remaining steps and restarts);
  // stats.gradient_evals_saved is then what they skipped.
  bool early_stop = false;
  AttackStats stats;
};

struct EvalReport {
  int64_t samples = 0;
  // A sweep (evaluate_sweep): the threat sizes in the order given and one report per size;
  // clean, robust and by_attack above then are those of the last size. Empty otherwise.
  std::vector<double> eps;
  std::vector<EvalReport> points;
  bool is_sweep() const { return !points.empty(); }
  double clean = 0;
  double robust = 0;
  double clean_seconds = 0;  // time of the clean pass
  // Whether evaluate ran with early stop on (its default); by_attack says which attacks used it.
  bool early_stop = false;
  // Gradient evaluations the early stop saved, over the attacks (and the points of a sweep).
  int64_t gradient_evals_saved() const;
  // "early stop: on (pgd, apgd; 15310 gradient evaluations saved)", "early stop: off", or
  // "early stop: on (none of these attacks stops early)".
  std::string early_stop_line() const;
  std::vector<AttackResult>
      by_attack;  // accuracy = robust accuracy after this attack in the cascade
  // evaluate(..., keep = true)'s per-sample outcome and adversarial examples (a sweep's: the
  // last size's); none otherwise.
  std::optional<AdversarialExamples> examples;
  // Total seconds: the clean pass and every attack (of every point of a sweep).
  double seconds() const;
  // Aligned text table: rows "clean", each attack, "worst case"; columns accuracy (percent, 2
  // decimals), samples attacked, gradient evaluations, queries, seconds. A sweep: one accuracy
  // column per eps. Then early_stop_line().
  std::string table() const;
  // {"samples":..,"clean":..,"robust":..,"early_stop":..,"by_attack":{"pgd":{"accuracy":..,
  //  "seconds":..,"attacked":..,"gradient_evals":..,"queries":..,"early_stop":..,
  //  "gradient_evals_saved":..}}}; a sweep adds "seconds":.., "eps":[..] and
  //  "points":[{report}, ..].
  std::string json() const;
};

// AutoAttack's per-sample cascade: a sample counts as robust only if it is correct clean and no
// attack fools it; each attack runs only on samples still robust, starting from the clean input.
// Batched; model in eval mode; NoGrad for clean predictions. Each attack draws one seed from
// `gen`, and its batch k a generator keyed by (seed, k). In a group of processes
// (runtime/distributed/share.h) batch k is rank k mod size's, and the report, the same on every
// rank, equals one process's. early_stop: every attack that
// can_stop_early() runs with early_stop on (a sample leaves an attack's remaining steps once
// fooled), or off when false, whatever the attack was built with. The result each attack
// returns is checked with one forward pass either way, so robust accuracy is measured on it.
// keep: the report holds `examples` (runtime/eval/examples.h), the same on every rank; without
// it nothing per sample is kept or gathered.
EvalReport evaluate(Model& model, const Dataset& data, const std::vector<NamedAttack>& attacks,
                    at::Generator& gen, int64_t batch = 256, bool early_stop = true,
                    bool keep = false);

// evaluate() once per threat size: each attack as attack->with(eps: e). The result's points
// follow `eps`; its clean/robust/by_attack are the last point's. Throws Error for an empty list,
// a negative size, or an attack whose threat has no eps (the attack's own message).
EvalReport evaluate_sweep(Model& model, const Dataset& data,
                          const std::vector<NamedAttack>& attacks, const std::vector<double>& eps,
                          at::Generator& gen, int64_t batch = 256, bool early_stop = true,
                          bool keep = false);

// Robust accuracy against eps as a PNG: one line per attack (accuracy after the cascade up to
// that attack), the worst case, and clean accuracy. Throws Error for a report that is not a sweep.
void plot_sweep(const EvalReport& report, const std::string& path, const std::string& title = "");

// Fraction correct, eval mode, no grad, restores the mode; batches shared among the ranks.
double accuracy(Model& model, const torch::Tensor& x, const torch::Tensor& y, int64_t batch = 512);

}  // namespace perturb
