// Threat models (LANGUAGE.md §2): perturbation sets and their methods.

#include "interpreter/builtins.h"
#include "interpreter/builtins_params.h"
#include "interpreter/eval.h"
#include "interpreter/objects.h"
#include "interpreter/operators.h"

namespace perturb::lang {
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

}  // namespace

void register_threat_builtins(BuiltinTable& t) {
  const std::string g = "threats";
  const Kinds kThreat = bits(Kind::kThreat);
  const Value kUnitBox = make_list({Value(0), Value(1)});
  t.add({"Linf",
         g,
         {{required("eps", bits(Kind::kNumber)), optional("domain", bits(Kind::kList), kUnitBox)},
          false,
          false,
          kThreat},
         "The L-inf ball of radius eps around an input, intersected with the input domain.",
         "threat linf = Linf(eps: 8/255)",
         lp_constructor(make_linf)});
  t.add({"L2",
         g,
         {{required("eps", bits(Kind::kNumber)), optional("domain", bits(Kind::kList), kUnitBox)},
          false,
          false,
          kThreat},
         "The L2 ball of radius eps around an input (norm per sample), intersected with the input "
         "domain.",
         "threat l2 = L2(eps: 1.5)",
         lp_constructor(make_l2)});
  t.add({"threat.project",
         g,
         {{required("self", kThreat), required("x_adv", bits(Kind::kTensor)),
           required("x", bits(Kind::kTensor))},
          false,
          false,
          bits(Kind::kTensor)},
         "The nearest point of the threat set around x to x_adv.",
         "linf.project(x_adv, x)",
         [](CallArgs& a) {
           auto [x_adv, x] = pair_of(a);
           return Value(receiver(a)->project(x_adv, x));
         }});
  t.add({"threat.sample",
         g,
         {{required("self", kThreat), required("x", bits(Kind::kTensor))},
          false,
          false,
          bits(Kind::kTensor)},
         "A random member of the threat set around x, from the script's seeded generator.",
         "linf.sample(x)",
         [](CallArgs& a) {
           return Value(receiver(a)->sample(a.tensor("x"), a.interp.generator()));
         }});
  t.add({"threat.contains",
         g,
         {{required("self", kThreat), required("x_adv", bits(Kind::kTensor)),
           required("x", bits(Kind::kTensor)), optional("tol", bits(Kind::kNumber), Value(1e-6))},
          false,
          false,
          bits(Kind::kTensor)},
         "Per sample, whether x_adv lies in the threat set around x (a bool tensor).",
         "min(linf.contains(x_adv, x))",
         [](CallArgs& a) {
           auto [x_adv, x] = pair_of(a);
           return Value(receiver(a)->contains(x_adv, x, a.number("tol")));
         }});
  Signature with_signature{{required("self", kThreat)}, false, true, kThreat};
  t.add({"threat.with", g, with_signature, "A copy with some parameters changed.",
         "linf.with(eps: 0.2)", [](CallArgs& a) {
           return threat_value(receiver(a)->with(to_params(a.named_rest, a.span)));
         }});
}

}  // namespace perturb::lang
