// Augmentation policies (LANGUAGE.md §2): the ops, OneOf, sample(threat), policy.apply and show.
// The names that are both threat and policy (Scale, Blur, Brightness, Contrast, Grayscale) are
// registered with the threats; a threat serves as a policy through sample() (builtins/policy.h).
// docs/augment.md describes every op, its defaults and where it deviates from torchvision.

#include "interpreter/builtins/policy.h"
#include "interpreter/builtins/params.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/threat.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "interpreter/operators.h"
#include "runtime/augment/ops.h"
#include "runtime/core/error.h"
#include "runtime/report/image_grid.h"

namespace perturb::lang {

Value policy_value(PolicyPtr policy) {
  return Value(ObjectPtr(std::make_shared<PolicyObject>(std::move(policy))));
}

PolicyPtr as_policy(const Value& value) {
  if (auto policy = value.object<PolicyObject>()) return policy->policy;
  if (auto threat = value.object<ThreatObject>())
    return augment::make_threat_sample(threat->threat);
  return nullptr;
}

PolicyPtr policy_arg(const CallArgs& args, const std::string& name) {
  PolicyPtr policy = as_policy(args.get(name));
  if (!policy) args.fail_kind(name, Kind::kPolicy);
  return policy;
}

namespace {

// `a >> b` and `a | b` when one side is a policy and the other a policy or a threat: the
// composed policy. nullopt when neither side is a policy (threat composition is the threats').
std::optional<Value> compose_policies(BinaryOp op, const Value& left, const Value& right,
                                      const Span& at) {
  if (op == BinaryOp::kIntersect && left.kind() == Kind::kPolicy && right.kind() == Kind::kPolicy) {
    throw_runtime_error(at,
                        "policies compose with '>>' (one after the other) and '|' (one of them); "
                        "'&' intersects perturbation sets, which policies are not");
  }
  if (op != BinaryOp::kThen && op != BinaryOp::kUnion) return std::nullopt;
  if (left.kind() != Kind::kPolicy && right.kind() != Kind::kPolicy) return std::nullopt;
  PolicyPtr a = as_policy(left), b = as_policy(right);
  if (!a || !b) return std::nullopt;
  try {
    return policy_value(op == BinaryOp::kThen ? make_sequence({a, b}) : make_union(a, b));
  } catch (const Error& e) {
    throw_runtime_error(at, e.what());
  }
}

const Kinds kNum = bits(Kind::kNumber);
const Kinds kNumOrRange = Kind::kNumber | Kind::kRange;
const Kinds kPolicy = bits(Kind::kPolicy);

ParamSpec p_of(double p) {
  return optional("p", kNum, Value(p));
}

Interval interval(CallArgs& args, const std::string& name) {
  return to_interval(args.get(name), args.span_of(name), name);
}

// A number v means -v..v (torchvision's convention for degrees, translate and hue).
Interval symmetric(CallArgs& args, const std::string& name) {
  const Value& v = args.get(name);
  if (v.is<double>()) {
    const double a = std::abs(v.as<double>());
    return a == 0 ? Interval{0, 0} : Interval{-a, a};
  }
  return interval(args, name);
}

struct Registrar {
  BuiltinTable& table;
  void add(const std::string& name, std::vector<ParamSpec> params, const std::string& doc,
           const std::string& example, std::function<PolicyPtr(CallArgs&)> make) {
    table.add({name, "policies", Signature{std::move(params)}.returning(kPolicy), doc, example,
               [make](CallArgs& args) { return policy_value(make(args)); }});
  }
};

std::vector<PolicyPtr> policy_list(CallArgs& args, const std::string& name) {
  std::vector<PolicyPtr> out;
  for (const auto& item : *args.get(name).as<ListPtr>()) {
    PolicyPtr p = as_policy(item);
    if (!p) {
      args.fail(name + " must be a list of policies (or threats), got " +
                kind_with_article(item.kind()) + " in it");
    }
    out.push_back(p);
  }
  return out;
}

Value apply_policy(CallArgs& args) {
  PolicyPtr policy = policy_arg(args, "self");
  torch::Tensor x = args.tensor("x");
  if (!args.has("y")) return Value(policy->apply(x, args.interp.generator()));
  AugmentBatch batch;
  std::tie(batch.x, batch.y) = args.labelled_batch();
  batch.classes = args.integer("classes");
  batch = policy->apply(std::move(batch), args.interp.generator());
  auto record = std::make_shared<Record>();
  record->set("x", Value(batch.x));
  record->set("y", Value(batch.y));
  record->set("soft_y", batch.soft_y.defined() ? Value(batch.soft_y) : Value());
  return Value(record);
}

Value show_policy(CallArgs& args) {
  PolicyPtr policy = policy_arg(args, "policy");
  torch::Tensor x = args.tensor("x");
  if (x.dim() == 3) x = x.unsqueeze(0);
  if (x.dim() != 4) {
    args.fail("show needs images x [N, C, H, W], got shape " + shape_string(x));
  }
  const int64_t rows = args.integer("rows");
  std::vector<GridRow> grid{{"original", x}};
  for (int64_t r = 0; r < rows; ++r) {
    grid.push_back({"augmented", policy->apply(x, args.interp.generator())});
  }
  ImageGridOptions options;
  options.title = policy->describe();
  save_image_grid(args.string("path"), grid, options);
  args.interp.image_written(args.string("path"));
  return Value();
}

}  // namespace

void describe_policy_kinds(KindRegistry& registry) {
  KindDescriptor policy(Kind::kPolicy, "policy", "a policy");
  policy.compose = compose_policies;
  registry.add(std::move(policy));
}

void register_policy_builtins(BuiltinTable& t) {
  Registrar r{t};
  using namespace augment;
  r.add("Flip", {p_of(0.5)}, "Horizontal flip with probability p.", "Flip(p: 0.5)",
        [](CallArgs& a) { return make_flip(a.number("p")); });
  r.add("VFlip", {p_of(0.5)}, "Vertical flip with probability p.", "VFlip(p: 0.5)",
        [](CallArgs& a) { return make_vflip(a.number("p")); });
  r.add("Rotate", {required("degrees", kNumOrRange), p_of(1)},
        "Rotation by a random angle in the range (a number d means -d..d), zero fill.",
        "Rotate(degrees: -15..15)",
        [](CallArgs& a) { return make_rotate(symmetric(a, "degrees"), a.number("p")); });
  r.add("Translate", {required("pixels", kNumOrRange), p_of(1)},
        "Shift by whole pixels, dx and dy each drawn from the range (a number n means -n..n).",
        "Translate(pixels: -2..2)",
        [](CallArgs& a) { return make_translate(symmetric(a, "pixels"), a.number("p")); });
  r.add("Crop", {optional("padding", kNum, Value(4)).whole(), p_of(1)},
        "Random crop of the original size after zero padding (torchvision RandomCrop).",
        "Crop(padding: 4)",
        [](CallArgs& a) { return make_crop(a.integer("padding"), a.number("p")); });
  r.add("ResizedCrop",
        {optional("scale", kNumOrRange, Value(RangeValue{0.08, 1})),
         optional("ratio", kNumOrRange, Value(RangeValue{3.0 / 4, 4.0 / 3})), p_of(1)},
        "A random box (area fraction in scale, aspect ratio in ratio) resized to the full image.",
        "ResizedCrop(scale: 0.5..1)", [](CallArgs& a) {
          return make_resized_crop(interval(a, "scale"), interval(a, "ratio"), a.number("p"));
        });
  r.add("Saturation", {required("factor", kNumOrRange), p_of(1)},
        "Saturation scaled by a factor in the range (0 gray, 1 unchanged); gray images unchanged.",
        "Saturation(factor: 0.5..1.5)",
        [](CallArgs& a) { return make_saturation(interval(a, "factor"), a.number("p")); });
  r.add("Hue", {required("shift", kNumOrRange), p_of(1)},
        "Hue rotated by a shift in turns (a number h means -h..h, within -0.5..0.5).",
        "Hue(shift: 0.1)",
        [](CallArgs& a) { return make_hue(symmetric(a, "shift"), a.number("p")); });
  r.add("ColorJitter",
        {optional("brightness", kNum, Value(0.4)), optional("contrast", kNum, Value(0.4)),
         optional("saturation", kNum, Value(0.4)), optional("hue", kNum, Value(0.1)), p_of(1)},
        "Brightness, contrast, saturation and hue jittered in a random order per sample.",
        "ColorJitter(brightness: 0.2, hue: 0)", [](CallArgs& a) {
          return make_color_jitter(a.number("brightness"), a.number("contrast"),
                                   a.number("saturation"), a.number("hue"), a.number("p"));
        });
  r.add("GaussianNoise", {required("sigma", kNumOrRange), p_of(1)},
        "Additive Gaussian noise with standard deviation sigma (or drawn from a range), clamped.",
        "GaussianNoise(sigma: 0.05)",
        [](CallArgs& a) { return make_gaussian_noise(interval(a, "sigma"), a.number("p")); });
  r.add("SaltPepper", {optional("amount", kNumOrRange, Value(0.05)), p_of(1)},
        "A fraction `amount` of the pixels set to white or black.", "SaltPepper(amount: 0.05)",
        [](CallArgs& a) { return make_salt_pepper(interval(a, "amount"), a.number("p")); });
  r.add("Sharpen", {optional("factor", kNumOrRange, Value(2)), p_of(1)},
        "Sharpness adjusted by a factor (1 unchanged, 0 smoothed; torchvision adjust_sharpness).",
        "Sharpen(factor: 1..3)",
        [](CallArgs& a) { return make_sharpen(interval(a, "factor"), a.number("p")); });
  r.add("JPEG", {optional("quality", kNumOrRange, Value(75)), p_of(1)},
        "JPEG compression at a quality in 1..100 (OpenCV, CPU; not differentiable).",
        "JPEG(quality: 20..60)",
        [](CallArgs& a) { return make_jpeg(interval(a, "quality"), a.number("p")); });
  r.add("Cutout", {required("size", kNum).whole(), p_of(1)},
        "A size×size square set to zero, centred anywhere in the image (clipped at the border).",
        "Cutout(size: 8, p: 0.5)",
        [](CallArgs& a) { return make_cutout(a.integer("size"), a.number("p")); });
  r.add("RandomErasing",
        {optional("scale", kNumOrRange, Value(RangeValue{0.02, 0.33})),
         optional("ratio", kNumOrRange, Value(RangeValue{0.3, 3.3})),
         optional("value", kNum, Value(0)), p_of(0.5)},
        "A random box (area fraction in scale, aspect ratio in ratio) set to value.",
        "RandomErasing(p: 0.5)", [](CallArgs& a) {
          return make_random_erasing(interval(a, "scale"), interval(a, "ratio"), a.number("value"),
                                     a.number("p"));
        });
  r.add("Mixup", {optional("alpha", kNum, Value(1.0)), p_of(1)},
        "Each sample blended with a random partner, weight ~ Beta(alpha, alpha); mixes labels.",
        "Mixup(alpha: 0.2)",
        [](CallArgs& a) { return make_mixup(a.number("alpha"), a.number("p")); });
  r.add("CutMix", {optional("alpha", kNum, Value(1.0)), p_of(1)},
        "A random box pasted from a partner, area ~ Beta(alpha, alpha); mixes labels.",
        "CutMix(alpha: 1)",
        [](CallArgs& a) { return make_cutmix(a.number("alpha"), a.number("p")); });
  r.add("RandAugment",
        {optional("n", kNum, Value(2)).whole(), optional("m", kNum, Value(9)).whole()},
        "RandAugment (Cubuk et al. 2020): n random ops per sample at magnitude m (0..30).",
        "RandAugment(n: 2, m: 9)",
        [](CallArgs& a) { return make_rand_augment(a.integer("n"), a.integer("m")); });
  r.add("OneOf",
        {required("policies", bits(Kind::kList)), optional("weights", bits(Kind::kList), Value())},
        "One of the policies per sample, picked at random (equal chances unless weights).",
        "OneOf([Flip(), Cutout(size: 8)], weights: [2, 1])", [](CallArgs& a) {
          std::vector<double> weights;
          if (a.has("weights")) {
            for (const auto& w : *a.get("weights").as<ListPtr>()) {
              if (!w.is<double>()) a.fail("weights must be a list of numbers");
              weights.push_back(w.as<double>());
            }
          }
          return make_one_of(policy_list(a, "policies"), weights);
        });
  r.add("sample", {required("threat", bits(Kind::kThreat)), p_of(1)},
        "A threat as a random augmentation: a random member of the threat set per sample.",
        "sample(Haze(beta: 0..1.5))", [](CallArgs& a) {
          return make_threat_sample(a.object<ThreatObject>("threat", Kind::kThreat)->threat,
                                    a.number("p"));
        });
  t.add({"policy.apply", "policies",
         Signature{{required("self", kPolicy), required("x", bits(Kind::kTensor)),
                    optional("y", bits(Kind::kTensor) | Kind::kNone, Value()),
                    optional("classes", kNum, Value(0)).whole().at_least(0)}}
             .returning(Kind::kTensor | Kind::kRecord),
         "The policy applied to a batch with per-sample random parameters; with y, a record "
         "{x, y, soft_y} (soft_y set by Mixup/CutMix, classes defaults to max(y) + 1).",
         "light.apply(x)", apply_policy});
  t.add({"threat.apply", "policies",
         Signature{{required("self", bits(Kind::kThreat)), required("x", bits(Kind::kTensor)),
                    optional("y", bits(Kind::kTensor) | Kind::kNone, Value()),
                    optional("classes", kNum, Value(0)).whole().at_least(0)}}
             .returning(Kind::kTensor | Kind::kRecord),
         "A threat used as a policy: sample(threat).apply(x), a random member of the threat set "
         "for each sample.",
         "Brightness(0.8..1.2).apply(x)", apply_policy});
  t.add({"show", "policies",
         Signature{{required("policy", kPolicy | Kind::kThreat), required("x", bits(Kind::kTensor)),
                    required("path", bits(Kind::kString)),
                    optional("rows", kNum, Value(3)).whole().at_least(1).at_most(64)}}
             .returning(bits(Kind::kNone)),
         "Writes a PNG grid: the images x, then `rows` rows of the policy applied to them.",
         "show(light, test_set.x[0:8], \"runs/light.png\")", show_policy});
}

}  // namespace perturb::lang
