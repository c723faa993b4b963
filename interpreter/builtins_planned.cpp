// Names of LANGUAGE.md that this build checks but does not run yet. Their signatures are real,
// so scripts using them pass `perturb check`; running one stops with a clear message naming
// the part of the project that brings it. Each moves to its own builtins_<area>.cpp when it lands.

#include "interpreter/builtins.h"

namespace perturb::lang {
namespace {

constexpr const char* kThreatLibrary = "planned with the threat-model and attack library";
constexpr const char* kTraining = "planned with augmentation, training recipes and schedules";

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
  p.add("UAP", {required("threat", kThreat), optional("epochs", kNum, Value(5))}, kAttack,
        "One universal perturbation over a dataset.", "UAP(linf)");
}

void schedules(BuiltinTable& t) {
  Planned p{t, "schedules", kTraining};
  p.add("Augmented", {required("policy", kPolicy)}, kTask, "A task of augmented inputs.",
        "Augmented(light)");
}

}  // namespace

void register_planned_builtins(BuiltinTable& t) {
  threats(t);
  attacks(t);
  schedules(t);
}

}  // namespace perturb::lang
