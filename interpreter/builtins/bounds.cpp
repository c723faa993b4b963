// Bound propagation: IBP(threat, method:) as a certification method for `certify`,
// and bounds(model, x, threat) for the logit bounds themselves. runtime/certify/bounds.h has
// the algorithms; docs/bounds.md the semantics.

#include <algorithm>
#include <chrono>

#include "interpreter/builtins/certify.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/threat.h"
#include "interpreter/builtins/train.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "runtime/certify/bounds.h"
#include "runtime/certify/bounds_train.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"
#include "runtime/train/train.h"

namespace perturb::lang {
namespace {

const Kinds kNum = bits(Kind::kNumber);

// At most this many inputs per bound computation: CROWN-IBP's backward pass holds one
// coefficient tensor per specification row and input, the size of the largest layer.
constexpr int64_t kMaxBoundBatch = 128;

BoundMethod method_of(CallArgs& args) {
  try {
    return parse_bound_method(args.string("method"));
  } catch (const Error& e) {
    args.fail_at("method", e.what());
  }
}

// IBP(threat, method: "ibp" | "crown_ibp"): verified robustness by bound propagation.
class VerifierObject : public CertifyMethodObject {
 public:
  VerifierObject(ThreatPtr threat, BoundMethod method)
      : threat(std::move(threat)), method(method) {}
  Kind kind() const override { return Kind::kVerifier; }
  std::string describe() const override {
    return "IBP(" + threat->describe() + ", method: \"" + bound_method_name(method) + "\")";
  }
  std::optional<Value> field(const std::string& name) const override {
    if (name == "threat") return Value(ObjectPtr(std::make_shared<ThreatObject>(threat)));
    if (name == "method") return Value(bound_method_name(method));
    if (name == "eps") return Value(threat->eps());
    return std::nullopt;
  }

  // Each input gets radius eps when every margin f_y − f_j has a positive lower bound over the
  // threat's set, else 0; so accuracy_at(eps) is the verified accuracy and accuracy_at(0) the
  // clean accuracy.
  Certificate certify(Model& model, const Dataset& data, CallArgs& args) const override {
    if (args.has("out"))
      args.fail_at("out",
                   "out: keeps the rows of randomized smoothing as they come; save the "
                   "certificate of bound propagation instead");
    const int64_t batch =
        std::min<int64_t>(std::max<int64_t>(args.integer("batch"), 1), kMaxBoundBatch);
    const auto start = std::chrono::steady_clock::now();
    VerifiedReport report = verified_accuracy(model, *threat, data.x, data.y, method, batch);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Certificate cert;
    cert.method = describe();
    cert.norm = threat->name() == "L2" ? "l2" : "linf";
    cert.alpha = 0;
    cert.settings = {{"eps", threat->eps()}, {"batch", static_cast<double>(batch)}};
    const int64_t n = data.size();
    auto labels = data.y.to(torch::kCPU, torch::kLong);
    for (int64_t i = 0; i < n; ++i) {
      CertificateRow row;
      row.idx = i;
      row.label = labels[i].item<int64_t>();
      row.prediction = report.predictions[i].item<int64_t>();
      row.correct = row.prediction == row.label;
      row.radius = report.verified_mask[i].item<bool>() ? threat->eps() : 0.0;
      row.seconds = seconds / std::max<int64_t>(n, 1);
      cert.rows.push_back(row);
    }
    return cert;
  }

  ThreatPtr threat;
  BoundMethod method;
};

Value make_verifier(CallArgs& args) {
  auto threat = args.object<ThreatObject>("threat", Kind::kThreat)->threat;
  BoundMethod method = method_of(args);
  // Fail at the IBP(...) line for a threat bound propagation cannot take.
  try {
    (void)input_set(*threat, torch::zeros({1, 1}));
  } catch (const Error& e) {
    args.fail_at("threat", e.what());
  }
  return Value(ObjectPtr(std::make_shared<VerifierObject>(threat, method)));
}

// bounds(model, x, threat, method:, y:) → {lower, upper} logit bounds [N, K]; with labels y
// also {margin: lower bounds of f_y − f_j [N, K−1], verified: bool [N]}.
Value bounds_value(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  auto threat = args.object<ThreatObject>("threat", Kind::kThreat)->threat;
  const BoundMethod method = method_of(args);
  torch::Tensor x = args.tensor("x");
  if (x.dim() == 3) x = x.unsqueeze(0);  // one image
  ModeGuard eval(*model, /*training=*/false);
  torch::NoGradGuard no_grad;
  BoundNetwork net = BoundNetwork::from_model(*model);
  x = x.to(model->device(), torch::kFloat32);
  torch::Tensor logits = model->forward(x);
  const double gap = (net.forward(x) - logits).abs().max().item<double>();
  if (!(gap <= 1e-3 * std::max(1.0, logits.abs().max().item<double>()))) {
    throw Error("bound propagation read " + model->describe() + " as " + net.describe() +
                ", but that network's outputs differ from the model's");
  }
  std::vector<torch::Tensor> lowers, uppers, margins, verified_parts;
  torch::Tensor y;
  if (args.has("y")) {
    y = args.tensor("y").to(model->device(), torch::kLong).reshape({-1});
    if (y.size(0) != x.size(0)) {
      args.fail_at("y", "bounds got " + std::to_string(x.size(0)) + " inputs and " +
                            std::to_string(y.size(0)) + " labels");
    }
  }
  for (int64_t s = 0; s < x.size(0); s += kMaxBoundBatch) {
    const int64_t n = std::min(kMaxBoundBatch, x.size(0) - s);
    torch::Tensor xb = x.narrow(0, s, n);
    InputSet set = input_set(*threat, xb);
    Bounds b = compute_bounds(net, set, method);
    lowers.push_back(b.lower);
    uppers.push_back(b.upper);
    if (y.defined()) {
      torch::Tensor yb = y.narrow(0, s, n);
      Bounds m = compute_bounds(net, set, method, margin_spec(yb, logits.size(1)));
      margins.push_back(m.lower);
      verified_parts.push_back((std::get<0>(m.lower.min(1)) > 0) &
                               (logits.narrow(0, s, n).argmax(1) == yb));
    }
  }
  auto record = std::make_shared<Record>();
  record->set("lower", Value(torch::cat(lowers)));
  record->set("upper", Value(torch::cat(uppers)));
  if (y.defined()) {
    record->set("margin", Value(torch::cat(margins)));
    record->set("verified", Value(torch::cat(verified_parts)));
  }
  return Value(record);
}

// train_certified(model, data, IBP(threat, method:), epochs:, ...): certified training with the
// IBP or CROWN-IBP loss and an eps ramp (runtime/certify/bounds_train.h).
Value train_certified_value(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel);
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data.in_memory();
  auto verifier = args.object<VerifierObject>("verifier", Kind::kVerifier);
  TrainOptions options;
  options.epochs = args.integer("epochs");
  options.batch = args.integer("batch");
  options.optimizer = args.has("optimizer")
                          ? args.object<OptimizerObject>("optimizer", Kind::kOptimizer)->spec
                          : OptimizerSpec{"adam", 0.001};
  options.seed = args.seed();
  options.log_path = args.string("log");
  options.quiet = true;
  CertifiedTrainOptions c;
  c.method = verifier->method;
  c.threat = verifier->threat;
  c.warmup = args.number("warmup");
  c.ramp = args.number("ramp");
  c.kappa_end = args.number("kappa");
  c.beta_end = args.number("beta");
  try {
    options.batch_loss = certified_batch_loss(c, options.epochs);
  } catch (const Error& e) {
    args.fail(e.what());
  }
  train(*model->model, data, options);
  return Value(ObjectPtr(model));
}

}  // namespace

void describe_bounds_kinds(KindRegistry& registry) {
  KindDescriptor verifier(Kind::kVerifier, "verifier", "a verifier");
  verifier.fields = {{"threat", bits(Kind::kThreat), "The threat it verifies against."},
                     {"method", bits(Kind::kString), "\"ibp\" or \"crown_ibp\"."},
                     {"eps", bits(Kind::kNumber), "The threat's size."}};
  registry.add(std::move(verifier));
}

void register_bounds_builtins(BuiltinTable& t) {
  const std::string g = "certification";
  t.add({"IBP", g,
         Signature{{required("threat", bits(Kind::kThreat)),
                    optional("method", bits(Kind::kString), Value("ibp"))}}
             .returning(bits(Kind::kVerifier)),
         "Verification by bound propagation over an Linf or L2 threat: \"ibp\" (interval bound "
         "propagation, Gowal et al. 2018) or \"crown_ibp\" (Zhang et al. 2020); certify gives "
         "radius eps to inputs whose margins are all verified.",
         "certify(net, test_set.take(100), IBP(linf, method: \"crown_ibp\"))", make_verifier});
  t.add({"bounds", g,
         Signature{{required("model", bits(Kind::kModel)), required("x", bits(Kind::kTensor)),
                    required("threat", bits(Kind::kThreat)),
                    optional("method", bits(Kind::kString), Value("crown_ibp")),
                    optional("y", Kind::kTensor | Kind::kNone, Value())}}
             .returning(bits(Kind::kRecord)),
         "Sound lower and upper bounds of the model's logits over the threat's set around each "
         "input ({lower, upper}); with labels y also the margin bounds and which are verified.",
         "bounds(net, test_set.x[0], linf).lower", bounds_value});
  t.add({"train_certified", "training",
         Signature{{required("model", bits(Kind::kModel)), required("data", bits(Kind::kDataset)),
                    required("verifier", bits(Kind::kVerifier)),
                    optional("epochs", kNum, Value(1)).whole().at_least(1),
                    optional("batch", kNum, Value(128)).whole().at_least(1),
                    optional_auto("optimizer", bits(Kind::kOptimizer), "Adam(lr: 0.001)"),
                    optional_auto("seed", kNum, "from --seed"),
                    optional("warmup", kNum, Value(0.0)), optional("ramp", kNum, Value(0.5)),
                    optional("kappa", kNum, Value(0.5)), optional("beta", kNum, Value(0.0)),
                    optional("log", bits(Kind::kString), Value(""))}}
             .returning(bits(Kind::kModel)),
         "Certified training (Gowal et al. 2018; Zhang et al. 2020): kappa·CE + (1 − kappa)·CE "
         "of the worst-case logits from the verifier's IBP or CROWN-IBP margin bounds; eps rises "
         "from 0 over the `ramp` fraction of the run after a clean `warmup` fraction, kappa from 1 "
         "to `kappa`, and CROWN-IBP's mixing weight from 1 to `beta`.",
         "train_certified(net, train_set, IBP(Linf(eps: 0.1)), epochs: 10, ramp: 0.5)",
         train_certified_value});
}

}  // namespace perturb::lang
