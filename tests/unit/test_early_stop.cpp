// Early stop (issue 13): an iterative attack takes a fooled sample out of its remaining steps and
// restarts, keeping its first adversarial point. Against the same attack without it: results
// inside the threat, at least as many samples fooled, fewer gradient evaluations, and the saving
// counted exactly (spent + saved = what the reference semantics spend).
#include <catch2/catch.hpp>

#include <filesystem>

#include "runtime/attack/attack.h"
#include "runtime/attack/attacks.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/evaluate.h"
#include "test_util.h"

using namespace perturb;

namespace {

const std::string kModel = std::string(PERTURB_SOURCE_DIR) + "/tests/conformance/fmnist_cnn.ts";

struct Outcome {
  torch::Tensor x_adv;
  AttackStats stats;
  int64_t fooled = 0;  // misclassified, or the target reached when `target` >= 0
};

// Runs `attack` with early_stop set as asked, from the same seed.
Outcome run_with(const AttackPtr& attack, bool early, Model& model, const Dataset& data,
                 int64_t target = -1) {
  const double on = early ? 1 : 0;
  const auto configured = attack->with({{"early_stop", Interval{on, on}}});
  auto gen = make_generator(7);
  Outcome out;
  out.x_adv = configured->run(model, data.x, data.y, gen, &out.stats);
  torch::NoGradGuard no_grad;
  const auto pred = model.forward(out.x_adv).argmax(1);
  out.fooled = (target >= 0 ? pred == target : pred != data.y).sum().item<int64_t>();
  return out;
}

// The fixture model and 200 test images, or nullopt (with a warning) where either is missing.
std::optional<std::pair<std::shared_ptr<Model>, Dataset>> fixture() {
  auto data = test::fashion_mnist_or_warn("test", 200);
  if (!data) return std::nullopt;
  if (!std::filesystem::exists(kModel)) {
    WARN("skipped: " << kModel << " is missing");
    return std::nullopt;
  }
  return std::make_pair(std::shared_ptr<Model>(load_model(kModel, torch::kCPU)), *data);
}

// What early stop must give against the reference run of the same attack.
void check_against_reference(const Outcome& early, const Outcome& full, const Threat& threat,
                             const Dataset& data) {
  CHECK(threat.contains(early.x_adv, data.x).all().item<bool>());
  CHECK(early.x_adv.min().item<double>() >= 0);
  CHECK(early.x_adv.max().item<double>() <= 1);
  CHECK(early.fooled >= full.fooled);
  CHECK(early.stats.gradient_evals < full.stats.gradient_evals);
  CHECK(early.stats.gradient_evals_saved > 0);
  CHECK(full.stats.gradient_evals_saved == 0);
}

}  // namespace

TEST_CASE("PGD with early stop fools as many samples for fewer gradient evaluations", "[attack]") {
  const auto f = fixture();
  if (!f) return;
  auto& [model, data] = *f;
  const int64_t restarts = GENERATE(1, 2);
  const auto threat = make_linf(0.1);
  PgdOptions options;
  options.steps = 20;
  options.step = 0.01;
  options.restarts = restarts;
  const auto pgd = make_pgd(threat, options);
  REQUIRE(pgd->can_stop_early());
  const auto full = run_with(pgd, false, *model, data);
  const auto early = run_with(pgd, true, *model, data);
  CAPTURE(restarts, early.fooled, full.fooled, early.stats.gradient_evals);
  check_against_reference(early, full, *threat, data);
  // Every sample's skipped steps and restarts are counted: spent + saved = the full run's cost.
  CHECK(full.stats.gradient_evals == 200 * 20 * restarts);
  CHECK(early.stats.gradient_evals + early.stats.gradient_evals_saved == full.stats.gradient_evals);
  // An undefended CNN at eps 0.1: most samples fall within a few steps.
  CHECK(early.stats.gradient_evals * 2 < full.stats.gradient_evals);
}

TEST_CASE("targeted PGD with early stop stops at the target class", "[attack]") {
  const auto f = fixture();
  if (!f) return;
  auto& [model, data] = *f;
  const auto threat = make_linf(0.15);
  PgdOptions options;
  options.steps = 20;
  options.step = 0.01;
  options.gradient.target = {TargetSpec::Mode::kLabel, 3};
  const auto pgd = make_pgd(threat, options);
  const auto full = run_with(pgd, false, *model, data, /*target=*/3);
  const auto early = run_with(pgd, true, *model, data, /*target=*/3);
  CAPTURE(early.fooled, full.fooled);
  check_against_reference(early, full, *threat, data);
  CHECK(early.stats.gradient_evals + early.stats.gradient_evals_saved == full.stats.gradient_evals);
}

TEST_CASE("APGD, MIFGSM and Iterative stop early like PGD", "[attack]") {
  const auto f = fixture();
  if (!f) return;
  auto& [model, data] = *f;
  const auto threat = make_linf(0.1);
  ApgdOptions apgd_options;
  apgd_options.steps = 20;
  MomentumOptions mi_options;
  mi_options.steps = 20;
  mi_options.step = 0.01;
  IterativeOptions it_options;
  it_options.steps = 20;
  // A raw-gradient update (not a sign): the full batch's gradient scale must be kept.
  const auto update = [](const torch::Tensor& x_adv, const torch::Tensor& grad) {
    return x_adv + 2000 * grad;
  };
  const std::vector<std::pair<std::string, AttackPtr>> attacks = {
      {"APGD", make_apgd(threat, apgd_options)},
      {"MIFGSM", make_momentum(threat, mi_options)},
      {"Iterative", make_iterative(threat, it_options, update)}};
  for (const auto& [name, attack] : attacks) {
    CAPTURE(name);
    REQUIRE(attack->can_stop_early());
    const auto full = run_with(attack, false, *model, data);
    const auto early = run_with(attack, true, *model, data);
    CAPTURE(early.fooled, full.fooled, early.stats.gradient_evals, full.stats.gradient_evals);
    check_against_reference(early, full, *threat, data);
    CHECK(early.stats.gradient_evals + early.stats.gradient_evals_saved ==
          full.stats.gradient_evals);
  }
}

TEST_CASE("which attacks stop early, and the errors where one cannot", "[attack]") {
  const auto threat = make_linf(0.1);
  CHECK_FALSE(make_fgsm(threat)->can_stop_early());
  PgdOptions eot;
  eot.gradient.eot = 2;
  CHECK_FALSE(make_pgd(threat, eot)->can_stop_early());
  CHECK_THROWS_WITH(make_pgd(threat, {})->with({{"eot", {2, 2}}, {"early_stop", {1, 1}}}),
                    Catch::Contains("PGD early_stop needs eot: 1"));
  MomentumOptions ni;
  ni.kind = "NIFGSM";
  CHECK_FALSE(make_momentum(threat, ni)->can_stop_early());
  CHECK_THROWS_WITH(make_momentum(threat, ni)->with({{"early_stop", {1, 1}}}),
                    Catch::Contains("NIFGSM cannot stop early"));
  CHECK(make_pgd(threat, {})->with({{"early_stop", {1, 1}}})->describe().find("early_stop: true") !=
        std::string::npos);
  CHECK(make_pgd(threat, {})->describe().find("early_stop") == std::string::npos);
}

TEST_CASE("evaluate turns early stop on and reports it", "[eval]") {
  const auto f = fixture();
  if (!f) return;
  auto& [model, data] = *f;
  PgdOptions options;
  options.steps = 20;
  options.step = 0.01;
  const std::vector<NamedAttack> attacks = {{"fgsm", make_fgsm(make_linf(0.1))},
                                            {"pgd", make_pgd(make_linf(0.1), options)}};
  auto gen_on = make_generator(3), gen_off = make_generator(3);
  const auto on = evaluate(*model, data, attacks, gen_on, 64);
  const auto off = evaluate(*model, data, attacks, gen_off, 64, /*early_stop=*/false);
  CHECK(on.early_stop);
  CHECK_FALSE(off.early_stop);
  CHECK_FALSE(on.by_attack[0].early_stop);  // FGSM: one step
  CHECK(on.by_attack[1].early_stop);
  CHECK(on.clean == off.clean);
  CHECK(on.robust <= off.robust);
  CHECK(on.by_attack[1].stats.gradient_evals < off.by_attack[1].stats.gradient_evals);
  CHECK(on.gradient_evals_saved() > 0);
  CHECK(off.gradient_evals_saved() == 0);
  CHECK_THAT(on.table(), Catch::Contains("early stop: on (pgd; "));
  CHECK_THAT(off.table(), Catch::EndsWith("early stop: off\n"));
  CHECK_THAT(on.json(), Catch::Contains("\"early_stop\":true,\"by_attack\"") &&
                            Catch::Contains("\"early_stop\":true,\"gradient_evals_saved\":"));
}
