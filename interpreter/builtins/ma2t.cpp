// MA²T (multimodal-adversarial-training paper, §3.3 Algorithm 1): the 1:N and N:1 augmented
// training pairs, and the alignment/diversity analysis of augmented pairs (§4.4, Figures 1–2).
// MA²T itself is train(m, augment_pairs(data, text: "human"), method: "mat", adversary: ...):
// augment_pairs returns 1:1 pairs (one caption per entry), which train's 1:1 pairing uses as they
// are.

#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/policy.h"
#include "interpreter/builtins/table.h"
#include "interpreter/eval.h"
#include "runtime/augment/augment_pairs.h"
#include "runtime/core/error.h"
#include "runtime/eval/alignment.h"
#include "runtime/report/format.h"
#include "runtime/text/eda.h"

namespace perturb::lang {
namespace {

// text:, image:, copies:, alpha:, seed: as the runtime's options.
AugmentPairsOptions augment_options(CallArgs& args) {
  AugmentPairsOptions o;
  const std::string who = display_name(args.builtin);
  if (args.has("text")) {
    const std::string text = args.string("text");
    if (text == "human") {
      o.text = "human";
    } else if (text == "eda") {
      const double alpha = args.number("alpha");
      o.text = "function";
      o.text_augment = [alpha](const std::string& caption, at::Generator& gen) {
        return eda_augment(caption, alpha, gen);  // EDA (Wei and Zou 2019), the paper's α = 0.3
      };
      o.text_name = "eda(alpha: " + format_number(alpha) + ")";
    } else {
      args.fail_at("text", who +
                               "'s text must be \"eda\" or \"human\" (the "
                               "image's other captions) or none, got \"" +
                               text + "\"");
    }
  }
  if (args.has("image")) o.image = policy_arg(args, "image");
  if (o.text == "none" && !o.image) {
    args.fail(who +
              " needs text: \"eda\" | \"human\", image: a policy (e.g. RandAugment(n: 2, m: 5)) "
              "or both");
  }
  o.copies = args.integer("copies");
  o.seed = static_cast<uint64_t>(args.integer("seed"));
  return o;
}

Value augment_pairs_of(CallArgs& args) {
  const PairedDataset& data = pairs_arg(args, "data");
  const AugmentPairsOptions options = augment_options(args);
  PairedDataset out;
  try {
    out = augment_pairs(data, options);
  } catch (const Error& e) {
    args.fail(e.what());
  }
  return Value(ObjectPtr(std::make_shared<PairsObject>(std::move(out))));
}

RecordPtr measures_record(const AugmentMeasures& m) {
  auto r = std::make_shared<Record>();
  r->set("alignment", Value(m.mean_alignment));
  r->set("diversity", Value(m.mean_diversity));
  r->set("pairs", Value(m.pairs));
  return r;
}

Value augment_analysis_of(CallArgs& args) {
  TwoTowerPtr model = two_tower_arg(args, "model");
  const PairedDataset& data = pairs_arg(args, "data");
  AlignmentOptions options;
  options.augment = augment_options(args);
  options.batch = args.integer("batch");
  AlignmentReport report;
  try {
    report = analyse_augmentation(*model, data, options);
  } catch (const Error& e) {
    args.fail(e.what());
  }
  auto record = std::make_shared<Record>();
  record->set("original", Value(report.mean_original));
  double align = 0, div = 0, pairs = 0;
  for (const auto* m :
       {report.text ? &*report.text : nullptr, report.image ? &*report.image : nullptr}) {
    if (!m) continue;
    align += m->mean_alignment * m->pairs;
    div += m->mean_diversity * m->pairs;
    pairs += m->pairs;
  }
  record->set("alignment", Value(pairs > 0 ? align / pairs : 0.0));
  record->set("diversity", Value(pairs > 0 ? div / pairs : 0.0));
  record->set("text", report.text ? Value(measures_record(*report.text)) : Value());
  record->set("image", report.image ? Value(measures_record(*report.image)) : Value());
  if (args.has("plot")) {
    const std::string path = args.string("plot");
    try {
      write_alignment_plot(path, report);
    } catch (const Error& e) {
      args.fail_at("plot", e.what());
    }
    record->set("plot", Value(path));
  } else {
    record->set("plot", Value());
  }
  return Value(record);
}

}  // namespace

void register_ma2t_builtins(BuiltinTable& t) {
  const std::string g = "multimodal";
  const Kinds text_kinds = Kind::kString | Kind::kNone;
  const Kinds image_kinds = Kind::kPolicy | Kind::kThreat | Kind::kNone;
  const Kinds num = bits(Kind::kNumber);
  t.add({"augment_pairs", g,
         Signature{{required("data", bits(Kind::kPairs)), optional("text", text_kinds, Value()),
                    optional("image", image_kinds, Value()),
                    optional("copies", num, Value(4)).whole().at_least(1),
                    optional("alpha", num, Value(0.3)).above(0).at_most(1),
                    optional("seed", num, Value(0)).whole().at_least(0)}}
             .returning(bits(Kind::kPairs)),
         "MA²T's augmented pairs (Algorithm 1 lines 1-5): the 1:1 pairs (image, first caption) "
         "plus `copies` (I, T_aug) per image from text: \"human\" (its other captions) or \"eda\" "
         "(EDA, alpha) and `copies` (I_aug, T) from an image policy; never (I_aug, T_aug); one "
         "caption per entry, so train's 1:1 pairing trains on exactly these pairs.",
         "let aug = augment_pairs(fashion_captions(split: \"train\", limit: 100), text: \"human\")",
         augment_pairs_of});
  t.add({"augment_analysis", g,
         Signature{{required("model", bits(Kind::kModel)), required("data", bits(Kind::kPairs)),
                    optional("text", text_kinds, Value()), optional("image", image_kinds, Value()),
                    optional("plot", Kind::kString | Kind::kNone, Value()),
                    optional("copies", num, Value(4)).whole().at_least(1),
                    optional("alpha", num, Value(0.3)).above(0).at_most(1),
                    optional("seed", num, Value(0)).whole().at_least(0),
                    optional("batch", num, Value(256)).whole().at_least(1)}}
             .returning(bits(Kind::kRecord)),
         "Alignment (mean cos of augmented image-text pairs) and diversity (mean L2 between "
         "unit embeddings before/after augmentation) in the model's space, the paper's Figures "
         "1-2: {original, alignment, diversity, text: {alignment, diversity, pairs}, image: "
         "{...}, plot}; plot: writes both histograms to one PNG.",
         "let a = augment_analysis(zoo.two_tower(vocab: fashion_captions(limit: 20)),\n"
         "                         fashion_captions(limit: 20), text: \"human\")",
         augment_analysis_of});
}

}  // namespace perturb::lang
