// Names of LANGUAGE.md that this build checks but does not run yet. Their signatures are real,
// so scripts using them pass `perturb check`; running one stops with a clear message naming
// the part of the project that brings it. Each moves to its own builtins_<area>.cpp when it lands.

#include "interpreter/builtins.h"

namespace perturb::lang {
namespace {

constexpr const char* kThreatLibrary = "planned with the threat-model and attack library";
constexpr const char* kTraining = "planned with augmentation, training recipes and schedules";
constexpr const char* kCertification = "planned with certification";

struct Planned {
  BuiltinTable& table;
  std::string group;
  std::string planned;
  void add(const std::string& name, std::vector<ParamSpec> params, Kinds returns,
           const std::string& doc, const std::string& example, bool open_named = false) {
    table.add({name,
               group,
               {std::move(params), false, open_named, returns},
               doc,
               example,
               nullptr,
               planned});
  }
};

const Kinds kNum = bits(Kind::kNumber);
const Kinds kNumOrRange = Kind::kNumber | Kind::kRange;
const Kinds kThreat = bits(Kind::kThreat);
const Kinds kAttack = bits(Kind::kAttack);
const Kinds kPolicy = bits(Kind::kPolicy);
const Kinds kTask = bits(Kind::kTask);
const Kinds kProb = bits(Kind::kNumber);

ParamSpec p_of(double p) {
  return optional("p", kProb, Value(p));
}
ParamSpec domain() {
  return optional("domain", bits(Kind::kList), make_list({Value(0), Value(1)}));
}

void threats(BuiltinTable& t) {
  Planned p{t, "threats", kThreatLibrary};
  p.add("L1", {required("eps", kNum), domain()}, kThreat,
        "The L1 ball with exact Euclidean projection (Duchi et al. 2008).", "L1(eps: 10)");
  p.add("L0", {required("pixels", kNum), domain()}, kThreat, "At most `pixels` changed pixels.",
        "L0(pixels: 20)");
  p.add(
      "Wasserstein",
      {required("eps", kNum), optional("kernel", kNum, Value(5)),
       optional("reg", kNum, Value(3000)), optional("iters", kNum, Value(50)), domain()},
      kThreat,
      "Wasserstein ball with local transport, projected by Sinkhorn iterations (Wong et al. 2019).",
      "Wasserstein(eps: 0.01, kernel: 5)");
  p.add("Haze",
        {optional("beta", kNumOrRange, Value(RangeValue{0, 1})),
         optional("airlight", kNumOrRange, Value(RangeValue{0.7, 1})),
         optional("depth", Kind::kTensor | Kind::kNone, Value())},
        kThreat,
        "Atmospheric scattering I = J*t + A*(1 - t), t = exp(-beta*d); parameters searched.",
        "Haze(beta: 0..1.5, airlight: 0.7..1)");
  p.add("Rotation", {required("degrees", kNumOrRange)}, kThreat,
        "Rotation by an angle in the range, searched by the attack.", "Rotation(degrees: -30..30)");
  p.add("Translation", {required("pixels", kNumOrRange)}, kThreat,
        "Shift by up to `pixels` in each direction.", "Translation(pixels: -3..3)");
  p.add("Scale", {required("factor", kNumOrRange)}, kThreat | kPolicy,
        "Zoom by a factor in the range.", "Scale(factor: 0.9..1.1)");
  p.add("Gamma", {required("gamma", kNumOrRange)}, kThreat, "Gamma correction x^gamma.",
        "Gamma(gamma: 0.8..1.2)");
  p.add("Blur", {required("sigma", kNumOrRange)}, kThreat | kPolicy,
        "Gaussian blur with sigma in the range.", "Blur(sigma: 0..1)");
  p.add("Brightness", {required("factor", kNumOrRange), p_of(1)}, kThreat | kPolicy,
        "Brightness scaled by a factor in the range.", "Brightness(0.8..1.2)");
  p.add("Contrast", {required("factor", kNumOrRange), p_of(1)}, kThreat | kPolicy,
        "Contrast scaled by a factor in the range.", "Contrast(0.8..1.2)");
  p.add("Grayscale", {p_of(1)}, kThreat | kPolicy, "Colour removed (3-channel inputs).",
        "Grayscale()");
  p.add("ColorShift", {required("shift", kNumOrRange)}, kThreat,
        "A per-channel colour offset (3-channel inputs).", "ColorShift(shift: -0.1..0.1)");
}

void attacks(BuiltinTable& t) {
  Planned p{t, "attacks", kThreatLibrary};
  auto gradient = [](int64_t steps) {
    return std::vector<ParamSpec>{
        required("threat", kThreat), optional("steps", kNum, Value(steps)),
        optional_auto("step", kNum, "eps/steps"), optional("eot", kNum, Value(1)),
        optional("target", Kind::kNumber | Kind::kString, Value())};
  };
  auto with = [](std::vector<ParamSpec> ps, std::vector<ParamSpec> extra) {
    ps.insert(ps.end(), extra.begin(), extra.end());
    return ps;
  };
  p.add("MIFGSM", with(gradient(10), {optional("decay", kNum, Value(1.0))}), kAttack,
        "Momentum iterative FGSM (Dong et al. 2018).", "MIFGSM(linf, steps: 10, decay: 1.0)");
  p.add("NIFGSM", with(gradient(10), {optional("decay", kNum, Value(1.0))}), kAttack,
        "Nesterov iterative FGSM (Lin et al. 2020).", "NIFGSM(linf)");
  p.add(
      "SINIFGSM",
      with(gradient(10), {optional("decay", kNum, Value(1.0)), optional("scales", kNum, Value(5))}),
      kAttack, "Scale-invariant Nesterov iterative FGSM (Lin et al. 2020).", "SINIFGSM(linf)");
  p.add("DIFGSM",
        with(gradient(10), {optional("resize_rate", kNum, Value(0.9)),
                            optional("diversity_prob", kNum, Value(0.5))}),
        kAttack, "Diverse-inputs iterative FGSM (Xie et al. 2019).", "DIFGSM(linf)");
  p.add("CW",
        {required("threat", kThreat), optional("c", kNum, Value(1)),
         optional("kappa", kNum, Value(0)), optional("steps", kNum, Value(100)),
         optional("lr", kNum, Value(0.01)),
         optional("target", Kind::kNumber | Kind::kString, Value())},
        kAttack, "Carlini-Wagner L2 attack.", "CW(l2, c: 1, steps: 100)");
  p.add("APGD",
        with(gradient(100),
             {optional("loss", bits(Kind::kString) | Kind::kFunction, Value("ce")),
              optional("restarts", kNum, Value(1)), optional("rho", kNum, Value(0.75))}),
        kAttack, "Auto-PGD with AutoAttack's step-size schedule (Croce and Hein 2020).",
        "APGD(linf, loss: \"dlr\", steps: 100)");
  p.add("FAB",
        {required("threat", kThreat), optional("steps", kNum, Value(100)),
         optional("restarts", kNum, Value(1)),
         optional("target", Kind::kNumber | Kind::kString, Value())},
        kAttack, "Fast adaptive boundary attack (Croce and Hein 2020).", "FAB(linf)");
  p.add("Square",
        {required("threat", kThreat), optional("queries", kNum, Value(5000)),
         optional("p_init", kNum, Value(0.8)), optional("restarts", kNum, Value(1))},
        kAttack, "Square attack: black-box, uses scores only (Andriushchenko et al. 2020).",
        "Square(linf, queries: 5000)");
  p.add("UAP", {required("threat", kThreat), optional("epochs", kNum, Value(5))}, kAttack,
        "One universal perturbation over a dataset.", "UAP(linf)");
}

void policies(BuiltinTable& t) {
  Planned p{t, "policies", kTraining};
  p.add("Flip", {p_of(0.5)}, kPolicy, "Horizontal flip with probability p.", "Flip(p: 0.5)");
  p.add("VFlip", {p_of(0.5)}, kPolicy, "Vertical flip with probability p.", "VFlip(p: 0.5)");
  p.add("Rotate", {required("degrees", kNumOrRange), p_of(1)}, kPolicy,
        "Rotation by a random angle in the range.", "Rotate(degrees: -15..15)");
  p.add("Translate", {required("pixels", kNumOrRange), p_of(1)}, kPolicy, "Random shift.",
        "Translate(pixels: -2..2)");
  p.add("Crop", {optional("padding", kNum, Value(4)), p_of(1)}, kPolicy,
        "Random crop after zero padding.", "Crop(padding: 4)");
  p.add("GaussianNoise", {required("sigma", kNumOrRange), p_of(1)}, kPolicy,
        "Additive Gaussian noise, clamped to [0, 1].", "GaussianNoise(sigma: 0.05)");
  p.add("Cutout", {required("size", kNum), p_of(1)}, kPolicy,
        "A random size×size square set to zero.", "Cutout(size: 8, p: 0.5)");
  p.add("RandAugment", {optional("n", kNum, Value(2)), optional("m", kNum, Value(9))}, kPolicy,
        "RandAugment (Cubuk et al. 2020): n random ops at magnitude m.", "RandAugment(n: 2, m: 9)");
  p.add("OneOf",
        {required("policies", bits(Kind::kList)), optional("weights", bits(Kind::kList), Value())},
        kPolicy, "One of the policies, picked at random.", "OneOf([Flip(), Cutout(size: 8)])");
  t.add({"policy.apply",
         "policies",
         {{required("self", kPolicy), required("x", bits(Kind::kTensor))},
          false,
          false,
          bits(Kind::kTensor)},
         "The policy applied to a batch, with per-sample random parameters.",
         "light.apply(x)",
         nullptr,
         kTraining});
}

void schedules(BuiltinTable& t) {
  Planned p{t, "schedules", kTraining};
  p.add("Clean", {}, kTask, "A task of clean inputs.", "Clean()");
  p.add("Noisy", {optional("iso", kNum, Value(0.1)), optional("aniso", kNum, Value(0))}, kTask,
        "A task with isotropic and anisotropic noise injected in the network (thesis ch. 5).",
        "Noisy(iso: 0.1, aniso: 4)");
  p.add("Adversarial", {required("attack", kAttack)}, kTask,
        "A task of adversarial inputs from an attack.", "Adversarial(pgd)");
  p.add("Augmented", {required("policy", kPolicy)}, kTask, "A task of augmented inputs.",
        "Augmented(light)");
  p.add("Meta",
        {required("tasks", bits(Kind::kList)),
         optional("meta_test", bits(Kind::kString), Value("random")),
         optional("inner_lr", kNum, Value(0.001)), optional("split", kNum, Value(0.5))},
        bits(Kind::kSchedule), "Meta-learning over tasks (thesis Algorithm 3).",
        "Meta(tasks: [Clean(), Adversarial(pgd)])");
  p.add("Curriculum", {required("stages", bits(Kind::kList))}, bits(Kind::kSchedule),
        "Stages of {epochs, task}, run in order.", "Curriculum([{epochs: 2, task: Clean()}])");
  p.add("ramp", {required("start", kNum), required("end", kNum)}, bits(Kind::kRamp),
        "A value ramped linearly over a stage's epochs.", "ramp(0, 0.1)");
}

void certification(BuiltinTable& t) {
  Planned p{t, "certification", kCertification};
  p.add("Smooth", {required("sigma", kNum)}, bits(Kind::kSmoothing),
        "Randomized smoothing with Gaussian noise (Cohen et al. 2019).", "Smooth(sigma: 0.25)");
  p.add("certify",
        {required("model", bits(Kind::kModel)), required("data", bits(Kind::kDataset)),
         required("method", bits(Kind::kSmoothing)), optional("n0", kNum, Value(100)),
         optional("n", kNum, Value(100000)), optional("alpha", kNum, Value(0.001)),
         optional("batch", kNum, Value(1000))},
        bits(Kind::kCertificate), "Certified radii by Cohen et al.'s CERTIFY.",
        "certify(net, test_set.take(100), Smooth(sigma: 0.25))");
  t.add({"certificate.accuracy_at",
         "certification",
         {{required("self", bits(Kind::kCertificate)), required("radii", bits(Kind::kList))},
          false,
          false,
          bits(Kind::kList)},
         "Certified accuracy at each radius.",
         "cert.accuracy_at([0, 0.25, 0.5])",
         nullptr,
         kCertification});
  p.add("plot", {required("value", kAnyKind), required("path", bits(Kind::kString))},
        bits(Kind::kNone), "Draws a certificate or an eps sweep as a PNG.",
        "plot(cert, \"runs/certified.png\")");
}

}  // namespace

void register_planned_builtins(BuiltinTable& t) {
  threats(t);
  attacks(t);
  policies(t);
  schedules(t);
  certification(t);
}

}  // namespace perturb::lang
