// Attacks (LANGUAGE.md §2) and evaluation (§3). Semantics and defaults follow torchattacks;
// the runtime documents each attack's equations.

#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/crossmodal.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/mmattack.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/params.h"
#include "interpreter/builtins/schedule.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/threat.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "interpreter/operators.h"
#include "runtime/attack/attacks.h"
#include "runtime/attack/feature.h"
#include "runtime/attack/loss.h"
#include "runtime/attack/uap.h"
#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/eval/evaluate.h"
#include "runtime/eval/example_grid.h"
#include "runtime/eval/report_csv.h"

namespace perturb::lang {

std::string AttackObject::describe() const {
  return attack->describe();
}

std::optional<Value> AttackObject::field(const std::string& field_name) const {
  if (field_name == "name") return Value(name);
  if (field_name == "threat")
    return Value(ObjectPtr(std::make_shared<ThreatObject>(attack->threat())));
  return std::nullopt;
}

namespace {

const AdversarialExamples& kept_examples(const EvalReport& report) {
  if (!report.examples) {
    throw Error(
        "this report kept no adversarial examples; pass keep: true to evaluate to keep them");
  }
  return *report.examples;
}

// Tensors only, so save(report.examples, "adv.npz") writes them all (report.attacks names
// fooled_by's indices).
Value examples_record(const AdversarialExamples& examples) {
  auto record = std::make_shared<Record>();
  record->set("x", Value(examples.x));
  record->set("x_adv", Value(examples.x_adv));
  record->set("y", Value(examples.y));
  record->set("pred_clean", Value(examples.pred_clean));
  record->set("pred_adv", Value(examples.pred_adv));
  record->set("fooled_by", Value(examples.fooled_by));
  record->set("gradient_evals", Value(examples.gradient_evals));
  record->set("queries", Value(examples.queries));
  return Value(record);
}

}  // namespace

std::optional<Value> ReportObject::field(const std::string& name) const {
  if (name == "clean") return Value(report.clean);
  if (name == "robust") return Value(report.robust);
  if (name == "samples") return Value(report.samples);
  if (name == "seconds") return Value(report.seconds());
  if (name == "early_stop") return Value(report.early_stop);
  if (name == "gradient_evals_saved") return Value(report.gradient_evals_saved());
  if (name == "queries" || name == "gradient_evals") {  // summed over attacks (and sweep points)
    int64_t total = 0;
    auto add = [&](const EvalReport& r) {
      for (const auto& a : r.by_attack) {
        total += name == "queries" ? a.stats.queries : a.stats.gradient_evals;
      }
    };
    if (report.is_sweep()) {
      for (const auto& p : report.points) add(p);
    } else {
      add(report);
    }
    return Value(total);
  }
  // A sweep's sizes, a report per size and the worst case per size (empty lists otherwise).
  if (name == "eps" || name == "points" || name == "robust_at") {
    std::vector<Value> items;
    for (size_t i = 0; i < report.points.size(); ++i) {
      if (name == "eps") items.push_back(Value(report.eps[i]));
      if (name == "robust_at") items.push_back(Value(report.points[i].robust));
      if (name == "points") {
        items.push_back(Value(ObjectPtr(std::make_shared<ReportObject>(report.points[i]))));
      }
    }
    return make_list(std::move(items));
  }
  if (name == "by_attack") {
    auto record = std::make_shared<Record>();
    for (const auto& result : report.by_attack) record->set(result.name, Value(result.accuracy));
    return Value(record);
  }
  if (name == "attacks") {  // the cascade's names, in order: examples.fooled_by indexes them
    std::vector<Value> names;
    for (const auto& result : report.by_attack) names.push_back(Value(result.name));
    return make_list(std::move(names));
  }
  if (name == "examples") return examples_record(kept_examples(report));
  return std::nullopt;
}

namespace {

const Kinds kAttackKind = bits(Kind::kAttack);
const Kinds kThreatKind = bits(Kind::kThreat);

Value attack_value(AttackPtr attack) {
  std::string name = attack->name();
  return Value(ObjectPtr(std::make_shared<AttackObject>(std::move(attack), std::move(name))));
}

ThreatPtr threat_arg(CallArgs& args) {
  return args.object<ThreatObject>("threat", Kind::kThreat)->threat;
}

// target: a class index, "random" or "least_likely" (none: untargeted); the table checks which.
TargetSpec target_option(CallArgs& args) {
  if (!args.has("target")) return {};
  if (args.get("target").kind() == Kind::kString) {
    return {args.string("target") == "random" ? TargetSpec::Mode::kRandom
                                              : TargetSpec::Mode::kLeastLikely};
  }
  return {TargetSpec::Mode::kLabel, args.integer("target")};
}

// loss:, kappa:, target: and eot:, accepted by every gradient attack (runtime/attack/loss.h).
GradientOptions gradient_options(CallArgs& args) {
  GradientOptions options;
  if (args.has("loss")) {
    const Value& loss = args.get("loss");
    if (loss.kind() == Kind::kFunction) {
      Interpreter* interp = &args.interp;
      Span at = args.span_of("loss");
      options.loss = "user";
      options.user_loss = [interp, loss, at](const torch::Tensor& logits,
                                             const torch::Tensor& labels) {
        // Called under the attack's grad mode, so the result stays differentiable in logits.
        Value result = interp->call(loss, {Value(logits), Value(labels)}, {}, at);
        return to_tensor(result, at, "the loss function's result");
      };
    } else {
      options.loss = args.string("loss");
    }
  }
  if (args.has("kappa")) options.kappa = args.number("kappa");
  if (args.has("eot")) options.eot = args.integer("eot");
  options.target = target_option(args);
  // objective: "feature" and gallery: (thesis ch. 4, eq. 4.3; runtime/attack/feature.h).
  if (args.has("objective")) options.objective = args.string("objective");
  if (args.has("gallery")) {
    const Dataset& data = args.object<DatasetObject>("gallery", Kind::kDataset)->data.in_memory();
    options.gallery = std::make_shared<FeatureGallery>(FeatureGallery{data.x, data.y});
  }
  return options;
}

Value make_pgd_attack(CallArgs& args) {
  PgdOptions options;
  options.gradient = gradient_options(args);
  options.steps = args.integer("steps");
  if (args.has("step")) options.step = args.number("step");
  options.random_start = args.boolean("random_start");
  options.restarts = args.integer("restarts");
  options.early_stop = args.boolean("early_stop");
  return attack_value(make_pgd(threat_arg(args), options));
}

Value make_momentum_attack(CallArgs& args, const std::string& kind) {
  MomentumOptions options;
  options.kind = kind;
  options.gradient = gradient_options(args);
  options.steps = args.integer("steps");
  if (args.has("step")) options.step = args.number("step");
  options.decay = args.number("decay");
  options.random_start = args.boolean("random_start");
  // Only SINIFGSM declares scales:, only DIFGSM resize_rate: and diversity_prob:.
  if (kind == "SINIFGSM") options.scales = args.integer("scales");
  if (kind == "DIFGSM") {
    options.resize_rate = args.number("resize_rate");
    options.diversity_prob = args.number("diversity_prob");
  }
  if (kind == "MIFGSM") options.early_stop = args.boolean("early_stop");
  return attack_value(make_momentum(threat_arg(args), options));
}

Value make_cw_attack(CallArgs& args) {
  CwOptions options;
  options.c = args.number("c");
  options.kappa = args.number("kappa");
  options.steps = args.integer("steps");
  options.lr = args.number("lr");
  options.search_steps = args.integer("search_steps");
  options.target = target_option(args);
  return attack_value(make_cw(threat_arg(args), options));
}

Value make_apgd_attack(CallArgs& args) {
  ApgdOptions options;
  options.gradient = gradient_options(args);
  options.steps = args.integer("steps");
  options.restarts = args.integer("restarts");
  options.rho = args.number("rho");
  options.targets = args.integer("targets");
  options.early_stop = args.boolean("early_stop");
  return attack_value(make_apgd(threat_arg(args), options));
}

Value make_fab_attack(CallArgs& args) {
  FabOptions options;
  options.steps = args.integer("steps");
  options.restarts = args.integer("restarts");
  options.targets = args.integer("targets");
  options.alpha_max = args.number("alpha_max");
  options.eta = args.number("eta");
  options.beta = args.number("beta");
  return attack_value(make_fab(threat_arg(args), options));
}

Value make_square_attack(CallArgs& args) {
  SquareOptions options;
  options.queries = args.integer("queries");
  options.p_init = args.number("p_init");
  options.restarts = args.integer("restarts");
  return attack_value(make_square(threat_arg(args), options));
}

Value make_iterative_attack(CallArgs& args) {
  IterativeOptions options;
  options.steps = args.integer("steps");
  options.random_start = args.boolean("random_start");
  options.early_stop = args.boolean("early_stop");
  Value update = args.get("update");
  Interpreter* interp = &args.interp;
  Span at = args.span_of("update");
  UpdateFn fn = [interp, update, at](const torch::Tensor& x_adv, const torch::Tensor& grad) {
    torch::NoGradGuard no_grad;
    Value result = interp->call(update, {Value(x_adv.detach()), Value(grad.detach())}, {}, at);
    return to_tensor(result, at, "the update function's result");
  };
  return attack_value(make_iterative(threat_arg(args), options, fn));
}

AttackPtr receiver(CallArgs& args) {
  return args.object<AttackObject>("self", Kind::kAttack)->attack;
}

// UAP (runtime/attack/uap.h): one perturbation learnt over a dataset; fit returns a fitted copy.
Value make_uap_attack(CallArgs& args) {
  UapOptions options;
  options.gradient = gradient_options(args);
  options.epochs = args.integer("epochs");
  options.batch = args.integer("batch");
  if (args.has("step")) options.step = args.number("step");
  options.beta = args.number("beta");
  return attack_value(make_uap(threat_arg(args), options));
}

// The receiver as a UAP, else an error naming what it is.
std::shared_ptr<const Uap> universal_receiver(CallArgs& args, const std::string& method) {
  auto self = args.object<AttackObject>("self", Kind::kAttack);
  auto uap = std::dynamic_pointer_cast<const Uap>(self->attack);
  if (!uap) {
    args.fail(method + " is for universal perturbations (UAP); " + self->attack->name() +
              " perturbs each input separately (use run)");
  }
  return uap;
}

Value uap_fit(CallArgs& args) {
  if (auto fitted = cmps_fit(args)) return *fitted;  // CMPS: two-modality data
  auto self = args.object<AttackObject>("self", Kind::kAttack);
  auto uap = universal_receiver(args, "fit");
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data.in_memory();
  AttackPtr fitted = uap->fit(*model, data.x, data.y, args.interp.generator());
  return Value(ObjectPtr(std::make_shared<AttackObject>(std::move(fitted), self->name)));
}

Value uap_perturbation(CallArgs& args) {
  if (auto eta = cmps_perturbation(args)) return *eta;
  return Value(universal_receiver(args, "perturbation")->perturbation());
}

// ART's fooling rate: the fraction of inputs whose predicted class the attack changes. An
// unfitted UAP is first fitted on the whole dataset (ART's generate(x) then fooling_rate).
Value attack_fooling_rate(CallArgs& args) {
  AttackPtr attack = receiver(args);
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data.in_memory();
  const int64_t batch = args.integer("batch");
  at::Generator& gen = args.interp.generator();
  if (auto uap = std::dynamic_pointer_cast<const Uap>(attack); uap && !uap->fitted()) {
    attack = uap->fit(*model, data.x, data.y, gen);
  }
  std::vector<torch::Tensor> adversarial;
  for (const auto& part : data.batches(batch)) {
    adversarial.push_back(attack->run(*model, part.x, part.y, gen).cpu());
  }
  if (adversarial.empty()) return Value(0.0);
  return Value(fooling_rate(*model, data.x, torch::cat(adversarial), batch));
}

Value run_attack(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  auto [x, y] = args.labelled_batch();
  return Value(receiver(args)->run(*model, x, y, args.interp.generator()));
}

Value attack_with(CallArgs& args) {
  auto self = args.object<AttackObject>("self", Kind::kAttack);
  // ramp(a, b) values (builtins/schedule.cpp) make an attack a Curriculum sets epoch by epoch.
  AttackPtr changed = has_ramp(args.named_rest)
                          ? ramped_with(self->attack, args.named_rest, args.span)
                          : AttackPtr(self->attack->with(to_params(args.named_rest, args.span)));
  return Value(ObjectPtr(std::make_shared<AttackObject>(changed, self->name)));
}

Value evaluate_model(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data;
  std::vector<NamedAttack> attacks;
  for (const auto& item : *args.get("attacks").as<ListPtr>()) {
    auto attack = item.object<AttackObject>();
    if (!attack && item.kind() == Kind::kAttack) {
      args.fail_at("attacks", "evaluate takes attacks on image classifiers; " + format_value(item) +
                                  " attacks image-text models: use itr or itr_table");
    }
    if (!attack) {
      args.fail_at("attacks", "evaluate's attacks must be a list of attacks, found " +
                                  kind_with_article(item.kind()));
    }
    attacks.push_back({attack->name, attack->attack});
  }
  int64_t batch = args.integer("batch");
  const bool early_stop = args.boolean("early_stop");
  const bool keep = args.boolean("keep");
  if (args.has("eps")) {  // a sweep of the threat size: one cascade per eps (runtime/eval)
    std::vector<double> eps;
    for (const auto& item : *args.get("eps").as<ListPtr>()) {
      if (!item.is<double>()) {
        args.fail_at("eps", "evaluate's eps must be a list of numbers, found " +
                                kind_with_article(item.kind()));
      }
      eps.push_back(item.as<double>());
    }
    EvalReport sweep = evaluate_sweep(*model, data, attacks, eps, args.interp.generator(), batch,
                                      early_stop, keep);
    return Value(ObjectPtr(std::make_shared<ReportObject>(std::move(sweep))));
  }
  EvalReport report =
      evaluate(*model, data, attacks, args.interp.generator(), batch, early_stop, keep);
  return Value(ObjectPtr(std::make_shared<ReportObject>(std::move(report))));
}

ParamSpec target_param() {
  return optional("target", Kind::kNumber | Kind::kString | Kind::kNone, Value())
      .whole()
      .at_least(0)
      .one_of({"random", "least_likely"})
      .doc("a class to reach, or the way to pick one; none: untargeted");
}

// The parameters every gradient attack shares: loss, kappa (cw), target, eot.
std::vector<ParamSpec> with_gradient_params(std::vector<ParamSpec> params) {
  params.push_back(optional("loss", Kind::kString | Kind::kFunction, Value("ce"))
                       .one_of(loss_names())
                       .doc("what the attack ascends; a function takes (logits, labels)"));
  params.push_back(optional("kappa", bits(Kind::kNumber), Value(0))
                       .at_least(0)
                       .doc("the cw loss saturates once the margin exceeds kappa"));
  params.push_back(target_param());
  params.push_back(optional("eot", bits(Kind::kNumber), Value(1))
                       .whole()
                       .at_least(1)
                       .doc("gradients averaged over this many passes (expectation over "
                            "transformation)"));
  params.push_back(optional("objective", bits(Kind::kString), Value("class"))
                       .one_of(objective_names())
                       .doc("\"feature\": the model's output is an embedding to move away"));
  params.push_back(optional("gallery", Kind::kDataset | Kind::kNone, Value())
                       .doc("for objective: \"feature\", the identities to match against"));
  return params;
}

// early_stop: for the iterative attacks that stop a sample once it is fooled.
ParamSpec early_stop_param() {
  return optional("early_stop", bits(Kind::kBool), Value(false))
      .doc(
          "a sample leaves once fooled, keeping its first adversarial example (evaluate turns "
          "this on)");
}

std::vector<ParamSpec> gradient_attack_params(int64_t steps) {
  return with_gradient_params(
      {required("threat", kThreatKind),
       optional("steps", bits(Kind::kNumber), Value(steps)).whole().at_least(1).doc("iterations"),
       optional_auto("step", bits(Kind::kNumber), "2.5*eps/steps").doc("the size of each step"),
       optional("random_start", bits(Kind::kBool), Value(true))
           .doc("start from a random point of the threat"),
       optional("restarts", bits(Kind::kNumber), Value(1))
           .whole()
           .at_least(1)
           .doc("runs from fresh starts; each sample keeps its first success"),
       early_stop_param()});
}

// `attack pgd = ...` names the attack "pgd" in reports.
Value attack_named(const Value& value, const std::string& name) {
  if (auto attack = value.object<AttackObject>()) {
    return Value(ObjectPtr(std::make_shared<AttackObject>(attack->attack, name)));
  }
  if (auto multimodal = value.object<MultimodalAttackObject>()) {
    return Value(ObjectPtr(std::make_shared<MultimodalAttackObject>(multimodal->attack, name)));
  }
  return value;
}

Value report_grid(CallArgs& args) {
  const auto& report = args.object<ReportObject>("self", Kind::kReport)->report;
  ExampleGridOptions options;
  options.n = args.integer("n");
  if (args.has("classes")) {
    for (const Value& v : *args.get("classes").as<ListPtr>()) {
      if (!v.is<std::string>()) {
        args.fail_at("classes", "classes must be a list of strings, found " +
                                    kind_with_article(v.kind()) + " in it");
      }
      options.classes.push_back(v.as<std::string>());
    }
  }
  if (args.has("title")) options.title = args.string("title");
  save_example_grid(args.string("path"), kept_examples(report), options);
  return Value();
}

// A report (evaluate's, or an ITR table) as CSV for a ".csv" path, JSON otherwise.
bool save_report(const Value& value, const std::string& path) {
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  if (auto report = value.object<ReportObject>()) {
    write_file_atomic(path, csv ? report_csv(report->report) : report->report.json() + "\n");
  } else if (auto table = value.object<ItrTableObject>()) {
    write_file_atomic(path, csv ? table->table.csv() : table->table.json() + "\n");
  } else {
    return false;
  }
  return true;
}

}  // namespace

void describe_attack_kinds(KindRegistry& registry) {
  KindDescriptor attack(Kind::kAttack, "attack", "an attack");
  attack.fields = {{"name", bits(Kind::kString),
                    "The declared name (`attack pgd = ...` is \"pgd\"), else its own."},
                   {"threat", bits(Kind::kThreat), "The threat whose set it searches."}};
  attack.fields_known = true;
  attack.declared_as = attack_named;
  registry.add(std::move(attack));

  const Kinds kNumber = bits(Kind::kNumber), kList = bits(Kind::kList);
  KindDescriptor report(Kind::kReport, "report", "a report");
  report.fields = {
      {"clean", kNumber, "Accuracy on the clean inputs."},
      {"robust", kNumber, "Accuracy under the worst of the attacks, per input."},
      {"by_attack", bits(Kind::kRecord), "Accuracy under each attack, by its name."},
      {"samples", kNumber, "How many inputs were evaluated."},
      {"seconds", kNumber, "The time the evaluation took."},
      {"queries", kNumber, "Model queries, summed over the attacks (and sweep points)."},
      {"gradient_evals", kNumber, "Gradient evaluations, summed like queries."},
      {"early_stop", bits(Kind::kBool), "Whether evaluate ran with early stop (its default)."},
      {"gradient_evals_saved", kNumber,
       "Gradient evaluations early stop saved (the steps fooled samples skipped)."},
      {"eps", kList, "A sweep's threat sizes (empty otherwise)."},
      {"points", kList, "A sweep's report per size (empty otherwise)."},
      {"robust_at", kList, "A sweep's robust accuracy per size (empty otherwise)."},
      {"attacks", kList, "The attacks' names in cascade order (examples.fooled_by indexes it)."},
      {"examples", bits(Kind::kRecord),
       "With keep: true, per sample: tensors x, x_adv (the first fooling input, else x), y, "
       "pred_clean, pred_adv, fooled_by (index into attacks, -1: none), gradient_evals and "
       "queries (each batch's count shared evenly among its samples)."}};
  report.fields_known = true;
  report.save = save_report;
  registry.add(std::move(report));
}

void register_attack_builtins(BuiltinTable& t) {
  const std::string g = "attacks";
  t.add({"FGSM", g,
         Signature{with_gradient_params({required("threat", kThreatKind)})}.returning(kAttackKind),
         "Fast gradient sign method: one step of size eps along the threat's steepest ascent "
         "(Goodfellow et al. 2015).",
         "attack fgsm = FGSM(linf)",
         [](CallArgs& a) { return attack_value(make_fgsm(threat_arg(a), gradient_options(a))); }});
  t.add({"PGD", g, Signature{gradient_attack_params(10)}.returning(kAttackKind),
         "Projected gradient descent on the cross-entropy (Madry et al. 2018) with a random start; "
         "restarts keep the first success per sample.",
         "attack pgd = PGD(linf, steps: 20, step: 0.01)", make_pgd_attack});
  auto momentum_params = [](double decay, std::vector<ParamSpec> extra) {
    std::vector<ParamSpec> ps = {
        required("threat", kThreatKind),
        optional("steps", bits(Kind::kNumber), Value(10)).whole().at_least(1),
        optional_auto("step", bits(Kind::kNumber), "2.5*eps/steps"),
        optional("decay", bits(Kind::kNumber), Value(decay)),
        optional("random_start", bits(Kind::kBool), Value(false))};
    ps.insert(ps.end(), extra.begin(), extra.end());
    return with_gradient_params(ps);
  };
  t.add(
      {"MIFGSM", g, Signature{momentum_params(1.0, {early_stop_param()})}.returning(kAttackKind),
       "Momentum iterative FGSM (Dong et al. 2018): g ← decay·g + ∇/mean|∇|, x ← x + step·sign(g).",
       "attack mi = MIFGSM(linf, steps: 10, decay: 1.0)",
       [](CallArgs& a) { return make_momentum_attack(a, "MIFGSM"); }});
  t.add({"NIFGSM", g, Signature{momentum_params(1.0, {})}.returning(kAttackKind),
         "Nesterov iterative FGSM (Lin et al. 2020): MI-FGSM with the gradient at the look-ahead "
         "x + decay·step·g.",
         "attack ni = NIFGSM(linf)",
         [](CallArgs& a) { return make_momentum_attack(a, "NIFGSM"); }});
  t.add(
      {"SINIFGSM", g,
       Signature{momentum_params(
                     1.0, {optional("scales", bits(Kind::kNumber), Value(5)).whole().at_least(1)})}
           .returning(kAttackKind),
       "Scale-invariant NI-FGSM (Lin et al. 2020): the gradient averaged over x/2^i, i < scales.",
       "attack sini = SINIFGSM(linf, scales: 5)",
       [](CallArgs& a) { return make_momentum_attack(a, "SINIFGSM"); }});
  t.add({"DIFGSM", g,
         Signature{
             momentum_params(0.0, {optional("resize_rate", bits(Kind::kNumber), Value(0.9)),
                                   optional("diversity_prob", bits(Kind::kNumber), Value(0.5))})}
             .returning(kAttackKind),
         "Diverse-inputs iterative FGSM (Xie et al. 2019): gradients through a random "
         "resize-and-pad; decay > 0 adds momentum.",
         "attack di = DIFGSM(linf, resize_rate: 0.9, diversity_prob: 0.5)",
         [](CallArgs& a) { return make_momentum_attack(a, "DIFGSM"); }});
  t.add({"CW", g,
         Signature{{required("threat", kThreatKind), optional("c", bits(Kind::kNumber), Value(1)),
                    optional("kappa", bits(Kind::kNumber), Value(0)),
                    optional("steps", bits(Kind::kNumber), Value(50)).whole().at_least(1),
                    optional("lr", bits(Kind::kNumber), Value(0.01)),
                    optional("search_steps", bits(Kind::kNumber), Value(1)).whole().at_least(1),
                    target_param()}}
             .returning(kAttackKind),
         "Carlini-Wagner L2 (2017): Adam in tanh space on |d|^2 + c*margin; search_steps > 1 "
         "binary-searches c; the result is projected onto the threat.",
         "attack cw = CW(l2, c: 1, steps: 100)", make_cw_attack});
  t.add({"APGD", g,
         Signature{with_gradient_params(
                       {required("threat", kThreatKind),
                        optional("steps", bits(Kind::kNumber), Value(100)).whole().at_least(1),
                        optional("restarts", bits(Kind::kNumber), Value(1)).whole().at_least(1),
                        optional("rho", bits(Kind::kNumber), Value(0.75)),
                        optional("targets", bits(Kind::kNumber), Value(0)).whole().at_least(0),
                        early_stop_param()})}
             .returning(kAttackKind),
         "Auto-PGD (Croce and Hein 2020) with AutoAttack's step-size schedule, checkpoints and "
         "momentum; loss \"ce\" or \"dlr\"; targets: 9 is APGD-T.",
         "attack apgd = APGD(linf, loss: \"dlr\", steps: 100)", make_apgd_attack});
  t.add({"FAB", g,
         Signature{{required("threat", kThreatKind),
                    optional("steps", bits(Kind::kNumber), Value(100)).whole().at_least(1),
                    optional("restarts", bits(Kind::kNumber), Value(1)).whole().at_least(1),
                    optional("targets", bits(Kind::kNumber), Value(9)).whole().at_least(0),
                    optional("alpha_max", bits(Kind::kNumber), Value(0.1)),
                    optional("eta", bits(Kind::kNumber), Value(1.05)),
                    optional("beta", bits(Kind::kNumber), Value(0.9))}}
             .returning(kAttackKind),
         "Fast adaptive boundary attack (Croce and Hein 2020), Linf or L2: minimal perturbations "
         "by projections onto the linearised boundary; targets: 9 is FAB-T as in AutoAttack, "
         "targets: 0 the untargeted FAB. Only successes within eps count.",
         "attack fab = FAB(linf, targets: 9)", make_fab_attack});
  t.add({"Square", g,
         Signature{{required("threat", kThreatKind),
                    optional("queries", bits(Kind::kNumber), Value(5000)).whole().at_least(1),
                    optional("p_init", bits(Kind::kNumber), Value(0.8)),
                    optional("restarts", bits(Kind::kNumber), Value(1)).whole().at_least(1)}}
             .returning(kAttackKind),
         "Square attack (Andriushchenko et al. 2020): black-box, scores only, counts queries.",
         "attack sq = Square(linf, queries: 5000)", make_square_attack});
  t.add({"Iterative", g,
         Signature{{required("threat", kThreatKind),
                    optional("steps", bits(Kind::kNumber), Value(10)).whole().at_least(1),
                    required("update", bits(Kind::kFunction)),
                    optional("random_start", bits(Kind::kBool), Value(false)), early_stop_param()}}
             .returning(kAttackKind),
         "An iterative attack whose step is a Perturb function update(x, g); each result is "
         "projected onto the threat.",
         "Iterative(linf, steps: 10, update: fn(x, g) { x + 0.01 * sign(g) })",
         make_iterative_attack});
  t.add({"UAP", g,
         Signature{with_gradient_params(
                       {required("threat", kThreatKind),
                        optional("epochs", bits(Kind::kNumber), Value(5)).whole().at_least(1),
                        optional("batch", bits(Kind::kNumber), Value(128)).whole().at_least(1),
                        optional_auto("step", bits(Kind::kNumber), "eps/2"),
                        optional("beta", bits(Kind::kNumber), Value(9))})}
             .returning(kAttackKind),
         "Universal adversarial perturbation (Moosavi-Dezfooli et al. 2017) by the SGD solver of "
         "Shafahi et al. 2020: one delta for every input, projected steps on the loss clipped at "
         "beta over minibatches, epoch by epoch. u.fit(model, data) learns it (run on a batch "
         "fits it on that batch, as ART's generate); applying it gives clamp(x + delta).",
         "attack uap = UAP(linf, epochs: 5).fit(net, train_set)", make_uap_attack});
  t.add({"attack.fit", g,
         Signature{{required("self", kAttackKind), required("model", bits(Kind::kModel)),
                    required("data", Kind::kDataset | Kind::kRecord)}}
             .returning(kAttackKind),
         "A UAP fitted on a dataset (a CMPS attack on two-modality data {visible, infrared}): the "
         "one perturbation it then adds to every input; printing "
         "it shows the fooling rate on that data.",
         "attack fitted = UAP(linf).fit(net, train_set.take(2000))", uap_fit});
  t.add({"attack.perturbation", g,
         Signature{{required("self", kAttackKind)}}.returning(bits(Kind::kTensor)),
         "A fitted UAP's (or CMPS's) perturbation delta, shaped like one input with a batch of 1 "
         "[1, C, H, W].",
         "let delta = UAP(linf).fit(net, train_set.take(2000)).perturbation()", uap_perturbation});
  t.add({"attack.fooling_rate", g,
         Signature{{required("self", kAttackKind), required("model", bits(Kind::kModel)),
                    required("data", bits(Kind::kDataset)),
                    optional("batch", bits(Kind::kNumber), Value(256)).whole().at_least(1)}}
             .returning(bits(Kind::kNumber)),
         "The fraction of inputs whose predicted class the attack changes (ART's fooling rate); "
         "an unfitted UAP is fitted on the data first.",
         "print(pgd.fooling_rate(net, test_set))", attack_fooling_rate});
  t.add({"attack.run", g,
         Signature{{required("self", kAttackKind), required("model", bits(Kind::kModel)),
                    required("x", bits(Kind::kTensor)), required("y", bits(Kind::kTensor))}}
             .returning(bits(Kind::kTensor)),
         "Adversarial examples for (x, y) against model, inside the attack's threat; the model "
         "runs in eval mode.",
         "let x_adv = pgd.run(model, x, y)", run_attack});
  t.add({"attack.with", g,
         Signature{{required("self", kAttackKind)}}.takes_any_named().returning(kAttackKind),
         "A copy with some attack or threat parameters changed.", "pgd.with(eps: 0.05, steps: 40)",
         attack_with});
  t.add({"evaluate", g,
         Signature{{required("model", bits(Kind::kModel)), required("data", bits(Kind::kDataset)),
                    optional("attacks", bits(Kind::kList), make_list({})),
                    optional("batch", bits(Kind::kNumber), Value(256)).whole().at_least(1),
                    optional("eps", Kind::kList | Kind::kNone, Value()),
                    optional("early_stop", bits(Kind::kBool), Value(true))
                        .doc("iterative attacks (PGD, APGD, MIFGSM, Iterative) stop a sample once "
                             "fooled; false: every step, as attack.run does"),
                    optional("keep", bits(Kind::kBool), Value(false))
                        .doc("keep each sample's adversarial example and outcome in "
                             "report.examples (a sweep: the last size's)")}}
             .returning(bits(Kind::kReport)),
         "Clean and robust accuracy; attacks run in a per-sample cascade like AutoAttack's (each "
         "only on samples still robust) and, with early_stop, each iterative attack drops a "
         "sample once fooled; eps: [...] repeats it per threat size (a sweep; plot draws it).",
         "let report = evaluate(net, test_set, attacks: [fgsm, pgd])", evaluate_model});
  t.add({"report.grid", g,
         Signature{{required("self", bits(Kind::kReport)), required("path", bits(Kind::kString)),
                    optional("n", bits(Kind::kNumber), Value(8)).whole().at_least(1),
                    optional("classes", Kind::kList | Kind::kNone, Value())
                        .doc("class names by index (numbers otherwise)"),
                    optional("title", Kind::kString | Kind::kNone, Value())}}
             .returning(bits(Kind::kNone)),
         "Writes a PNG of the examples evaluate(..., keep: true) kept: clean inputs above their "
         "adversarial examples, n columns (fooled samples first), captioned with the true "
         "label, the clean and adversarial predictions and the attack that fooled each.",
         "report.grid(\"runs/adv.png\", n: 8)", report_grid});
}

}  // namespace perturb::lang
