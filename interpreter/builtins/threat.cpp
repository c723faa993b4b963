// Threat models (LANGUAGE.md §2): perturbation sets and their methods.

#include <cmath>

#include "interpreter/builtins/params.h"
#include "interpreter/builtins/policy.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/threat.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "interpreter/operators.h"
#include "runtime/augment/ops.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"
#include "runtime/threat/physical.h"

namespace perturb::lang {

std::optional<Value> ThreatObject::field(const std::string& name) const {
  if (name == "eps") return Value(threat->eps());
  return std::nullopt;
}

namespace {

Value threat_value(ThreatPtr threat) {
  return Value(ObjectPtr(std::make_shared<ThreatObject>(std::move(threat))));
}

Domain domain_of(CallArgs& args) {
  Interval interval = to_interval(args.get("domain"), args.span_of("domain"), "domain");
  return Domain{interval.lo, interval.hi};
}

BuiltinImpl lp_constructor(ThreatPtr (*make)(double, Domain)) {
  return [make](CallArgs& args) { return threat_value(make(args.number("eps"), domain_of(args))); };
}

ThreatPtr receiver(CallArgs& args) {
  return args.object<ThreatObject>("self", Kind::kThreat)->threat;
}

// The batch x and a matching x_adv, on one device, with the same shape.
std::pair<torch::Tensor, torch::Tensor> pair_of(CallArgs& args) {
  torch::Tensor x_adv = args.tensor("x_adv"), x = args.tensor("x");
  if (x_adv.sizes() != x.sizes()) {
    args.fail("x_adv and x must have the same shape, got " + shape_string(x_adv) + " and " +
              shape_string(x));
  }
  return {x_adv, x.to(x_adv.device())};
}

Interval interval_arg(CallArgs& args, const std::string& name) {
  return to_interval(args.get(name), args.span_of(name), name);
}

// A number v means -v..v for the signed parameters (degrees, pixels, shift), as for the
// augmentation ops; a range or a list [lo, hi] is taken as written.
Interval symmetric_arg(CallArgs& args, const std::string& name) {
  const Value& v = args.get(name);
  if (v.is<double>()) return Interval{-std::abs(v.as<double>()), std::abs(v.as<double>())};
  return interval_arg(args, name);
}

// The table allows only "gradient" and "grid".
SearchMode search_of(CallArgs& args) {
  return args.string("search") == "grid" ? SearchMode::kGrid : SearchMode::kGradient;
}

// The names that are both a threat and an augmentation (Scale, Blur, Brightness, Contrast,
// Grayscale) take p: with p < 1 the call is a policy (the threat's random member with
// probability p, builtins/policy.h); otherwise it is the threat, which serves as a policy too.
Value threat_or_policy(CallArgs& args, ThreatPtr threat) {
  const double p = args.number("p");
  if (p < 1) return policy_value(augment::make_threat_sample(std::move(threat), p));
  return threat_value(std::move(threat));
}

// Registers a parametric threat; `make` builds it from the bound arguments.
void add_parametric(BuiltinTable& t, const std::string& name, std::vector<ParamSpec> params,
                    Kinds returns, const std::string& doc, const std::string& example,
                    std::function<Value(CallArgs&)> make) {
  params.push_back(optional("search", bits(Kind::kString), Value(std::string("gradient")))
                       .one_of({"gradient", "grid"}));
  t.add({name, "threats", Signature{std::move(params)}.returning(returns), doc, example,
         [make](CallArgs& args) { return make(args); }});
}

std::optional<Value> compose_threats(BinaryOp op, const Value& left, const Value& right,
                                     const Span& at) {
  if (op != BinaryOp::kThen && op != BinaryOp::kUnion && op != BinaryOp::kIntersect) {
    return std::nullopt;
  }
  auto a = left.object<ThreatObject>(), b = right.object<ThreatObject>();
  if (!a || !b) return std::nullopt;
  try {
    if (op == BinaryOp::kThen) return threat_value(make_then(a->threat, b->threat));
    if (op == BinaryOp::kUnion) return threat_value(make_union(a->threat, b->threat));
    return threat_value(make_intersection(a->threat, b->threat));
  } catch (const Error& e) {
    throw_runtime_error(at, e.what());
  }
}

}  // namespace

void describe_threat_kinds(KindRegistry& registry) {
  KindDescriptor threat(Kind::kThreat, "threat", "a threat");
  threat.fields = {{"eps", bits(Kind::kNumber), "The threat's size: an Lp ball's radius."},
                   {"image", Kind::kThreat | Kind::kNone, "The image side of Pair(image:, text:)."},
                   {"text", Kind::kThreat | Kind::kNone, "The text side of Pair(image:, text:)."}};
  threat.fields_known = true;
  threat.compose = compose_threats;
  registry.add(std::move(threat));
}

void register_threat_builtins(BuiltinTable& t) {
  const std::string g = "threats";
  const Kinds kThreat = bits(Kind::kThreat);
  const Value kUnitBox = make_list({Value(0), Value(1)});
  // Linf, L2 and L1: a radius and the input domain.
  const Signature lp_ball = Signature{
      {required("eps", bits(Kind::kNumber)),
       optional("domain", bits(Kind::kList),
                kUnitBox)}}.returning(kThreat);
  t.add({"Linf", g, lp_ball,
         "The L-inf ball of radius eps around an input, intersected with the input domain.",
         "threat linf = Linf(eps: 8/255)", lp_constructor(make_linf)});
  t.add({"L2", g, lp_ball,
         "The L2 ball of radius eps around an input (norm per sample), intersected with the input "
         "domain.",
         "threat l2 = L2(eps: 1.5)", lp_constructor(make_l2)});
  t.add({"L1", g, lp_ball,
         "The L1 ball of radius eps (per sample) intersected with the domain; exact Euclidean "
         "projection (Duchi et al. 2008, with the box), sparse steps as APGD-L1.",
         "threat l1 = L1(eps: 10)", lp_constructor(make_l1)});
  t.add({"L0", g,
         Signature{{required("pixels", bits(Kind::kNumber)).whole().at_least(0),
                    optional("domain", bits(Kind::kList), kUnitBox)}}
             .returning(kThreat),
         "At most `pixels` changed pixels (all channels of a position count as one), values kept "
         "in the domain.",
         "threat l0 = L0(pixels: 20)",
         [](CallArgs& a) { return threat_value(make_l0(a.integer("pixels"), domain_of(a))); }});
  t.add({"Wasserstein", g,
         Signature{{required("eps", bits(Kind::kNumber)),
                    optional("kernel", bits(Kind::kNumber), Value(5)).whole().at_least(1),
                    optional("reg", bits(Kind::kNumber), Value(3000)),
                    optional("iters", bits(Kind::kNumber), Value(50)).whole().at_least(1),
                    optional("domain", bits(Kind::kList), kUnitBox)}}
             .returning(kThreat),
         "The Wasserstein ball (transport within kernel x kernel pixels), projected by projected "
         "Sinkhorn iterations (Wong et al. 2019; thesis eqs. 4.6-4.9).",
         "threat wass = Wasserstein(eps: 0.01, kernel: 5)", [](CallArgs& a) {
           WassersteinOptions o;
           o.eps = a.number("eps");
           o.kernel = a.integer("kernel");
           o.reg = a.number("reg");
           o.iters = a.integer("iters");
           o.domain = domain_of(a);
           return threat_value(make_wasserstein(o));
         }});
  const Kinds kNumOrRange = Kind::kNumber | Kind::kRange | Kind::kList;
  const Kinds kThreatOrPolicy = Kind::kThreat | Kind::kPolicy;
  const auto p_of = [] {
    return optional("p", bits(Kind::kNumber), Value(1)).at_least(0).at_most(1);
  };
  add_parametric(
      t, "Haze",
      {optional("beta", kNumOrRange, Value(RangeValue{0, 1})),
       optional("airlight", kNumOrRange, Value(RangeValue{0.7, 1})),
       optional("depth", Kind::kTensor | Kind::kNone, Value())},
      kThreat,
      "Atmospheric scattering I = J*t + A*(1 - t), t = exp(-beta*d) (physics review 3.3); beta "
      "and airlight searched in their ranges; depth [H, W] or a smooth default.",
      "threat fog = Haze(beta: 0..1.5, airlight: 0.7..1)", [](CallArgs& a) {
        torch::Tensor depth;
        if (a.has("depth") && !a.get("depth").is<std::monostate>()) depth = a.tensor("depth");
        return threat_value(
            make_haze(interval_arg(a, "beta"), interval_arg(a, "airlight"), depth, search_of(a)));
      });
  add_parametric(t, "Rotation", {required("degrees", kNumOrRange)}, kThreat,
                 "Rotation about the centre by an angle in the range (a number d means -d..d).",
                 "threat spin = Rotation(degrees: -30..30)", [](CallArgs& a) {
                   return threat_value(make_rotation(symmetric_arg(a, "degrees"), search_of(a)));
                 });
  add_parametric(t, "Translation", {required("pixels", kNumOrRange)}, kThreat,
                 "A shift by dx and dy pixels, each in the range (a number n means -n..n).",
                 "threat shift = Translation(pixels: -3..3)", [](CallArgs& a) {
                   return threat_value(make_translation(symmetric_arg(a, "pixels"), search_of(a)));
                 });
  add_parametric(t, "Scale", {required("factor", kNumOrRange), p_of()}, kThreatOrPolicy,
                 "A zoom about the centre by a factor in the range (1 is the identity).",
                 "threat zoom = Scale(factor: 0.9..1.1)", [](CallArgs& a) {
                   return threat_or_policy(a, make_scale(interval_arg(a, "factor"), search_of(a)));
                 });
  add_parametric(
      t, "Gamma", {required("gamma", kNumOrRange)}, kThreat,
      "Gamma correction x^gamma with gamma in the range.", "threat gam = Gamma(gamma: 0.8..1.2)",
      [](CallArgs& a) { return threat_value(make_gamma(interval_arg(a, "gamma"), search_of(a))); });
  add_parametric(t, "Blur", {required("sigma", kNumOrRange), p_of()}, kThreatOrPolicy,
                 "Gaussian blur with a standard deviation (pixels) in the range.",
                 "threat blur = Blur(sigma: 0..1.5)", [](CallArgs& a) {
                   return threat_or_policy(a, make_blur(interval_arg(a, "sigma"), search_of(a)));
                 });
  add_parametric(t, "Brightness", {required("factor", kNumOrRange), p_of()}, kThreatOrPolicy,
                 "Brightness x*factor with the factor in the range, clamped to [0, 1].",
                 "threat bright = Brightness(0.8..1.2)", [](CallArgs& a) {
                   return threat_or_policy(
                       a, make_brightness(interval_arg(a, "factor"), search_of(a)));
                 });
  add_parametric(t, "Contrast", {required("factor", kNumOrRange), p_of()}, kThreatOrPolicy,
                 "Contrast mean + factor*(x - mean) with the factor in the range, clamped.",
                 "threat con = Contrast(0.8..1.2)", [](CallArgs& a) {
                   return threat_or_policy(a,
                                           make_contrast(interval_arg(a, "factor"), search_of(a)));
                 });
  add_parametric(
      t, "Grayscale", {optional("amount", kNumOrRange, Value(1)), p_of()}, kThreatOrPolicy,
      "A blend (1 - a)*x + a*gray(x) with a in amount (default 1: full grayscale); "
      "3-channel inputs.",
      "threat gray = Grayscale(amount: 0..1)", [](CallArgs& a) {
        return threat_or_policy(a, make_grayscale(interval_arg(a, "amount"), search_of(a)));
      });
  add_parametric(t, "ColorShift", {required("shift", kNumOrRange)}, kThreat,
                 "An offset per colour channel in the range (a number s means -s..s), clamped; "
                 "3-channel inputs.",
                 "threat tint = ColorShift(shift: -0.1..0.1)", [](CallArgs& a) {
                   return threat_value(make_color_shift(symmetric_arg(a, "shift"), search_of(a)));
                 });
  t.add({"threat.project", g,
         Signature{{required("self", kThreat), required("x_adv", bits(Kind::kTensor)),
                    required("x", bits(Kind::kTensor))}}
             .returning(bits(Kind::kTensor)),
         "The nearest point of the threat set around x to x_adv.", "linf.project(x_adv, x)",
         [](CallArgs& a) {
           auto [x_adv, x] = pair_of(a);
           return Value(receiver(a)->project(x_adv, x));
         }});
  t.add({"threat.sample", g,
         Signature{{required("self", kThreat), required("x", bits(Kind::kTensor))}}.returning(
             bits(Kind::kTensor)),
         "A random member of the threat set around x, from the script's seeded generator.",
         "linf.sample(x)", [](CallArgs& a) {
           return Value(receiver(a)->sample(a.tensor("x"), a.interp.generator()));
         }});
  t.add({"threat.contains", g,
         Signature{{required("self", kThreat), required("x_adv", bits(Kind::kTensor)),
                    required("x", bits(Kind::kTensor)),
                    optional("tol", bits(Kind::kNumber), Value(1e-6))}}
             .returning(bits(Kind::kTensor)),
         "Per sample, whether x_adv lies in the threat set around x (a bool tensor).",
         "min(linf.contains(x_adv, x))", [](CallArgs& a) {
           auto [x_adv, x] = pair_of(a);
           return Value(receiver(a)->contains(x_adv, x, a.number("tol")));
         }});
  auto with_signature = Signature{{required("self", kThreat)}}.takes_any_named().returning(kThreat);
  t.add({"threat.with", g, with_signature, "A copy with some parameters changed.",
         "linf.with(eps: 0.2)", [](CallArgs& a) {
           return threat_value(receiver(a)->with(to_params(a.named_rest, a.span)));
         }});
}

}  // namespace perturb::lang
