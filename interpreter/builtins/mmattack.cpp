// Text and multimodal threats and attacks on image–text models, and the retrieval robustness
// report (multimodal-adversarial-training paper: eq. 2, 4, 5; Table 1). The runtime is in
// runtime/attack/multimodal/{word_attack,co_attack,sga} and runtime/eval/itr_table.

#include "interpreter/builtins/mmattack.h"
#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/threat.h"
#include "interpreter/builtins/whole.h"
#include "interpreter/eval.h"
#include "runtime/attack/multimodal/co_attack.h"
#include "runtime/attack/multimodal/sga.h"
#include "runtime/attack/multimodal/word_attack.h"
#include "runtime/core/random.h"
#include "runtime/eval/itr_table.h"

namespace perturb::lang {
namespace {

const Kinds kThreatKind = bits(Kind::kThreat);
const Kinds kAttackKind = bits(Kind::kAttack);

Value threat_value(PairThreat threat) {
  return Value(ObjectPtr(std::make_shared<PairThreatObject>(std::move(threat))));
}

Value attack_value(MultimodalAttackPtr attack) {
  std::string name = attack->name();
  return Value(
      ObjectPtr(std::make_shared<MultimodalAttackObject>(std::move(attack), std::move(name))));
}

std::optional<double> step_option(CallArgs& args) {
  if (!args.has("step")) return std::nullopt;
  return args.number("step");
}

// The threat argument as an image–text threat: WordSub(...) or Pair(...); a plain image threat
// (Linf...) is named as such.
PairThreat pair_threat_arg(CallArgs& args, const std::string& name, bool need_image,
                           bool need_text) {
  const Value& value = args.get(name);
  const std::string who = display_name(args.builtin);
  PairThreat threat;
  if (auto pair = value.object<PairThreatObject>()) {
    threat = pair->threat;
  } else if (auto image = value.object<ThreatObject>()) {
    if (need_text) {
      args.fail_at(name, who + " attacks text" + (need_image ? " and images" : "") + ": give it " +
                             (need_image ? "Pair(image: " + image->threat->describe() +
                                               ", text: WordSub(words: 1))"
                                         : std::string("WordSub(words: 1)")) +
                             ", not the image threat " + image->threat->describe());
    }
    threat.image = image->threat;
  } else {
    args.fail_kind(name, Kind::kThreat);
  }
  if (need_image && !threat.image) {
    args.fail_at(name, who +
                           " needs a threat on both modalities, Pair(image: Linf(eps: 2/255), "
                           "text: WordSub(words: 1)), got " +
                           threat.describe());
  }
  if (need_text && !threat.text) {
    args.fail_at(name, who + " needs a text threat, got " + threat.describe());
  }
  return threat;
}

Value make_wordsub(CallArgs& args) {
  WordSubThreat text;
  text.words = args.integer("words");
  text.candidates = args.integer("candidates");
  return threat_value({nullptr, text});
}

Value make_pair(CallArgs& args) {
  PairThreat threat;
  if (args.has("image")) {
    const Value& image = args.get("image");
    if (auto plain = image.object<ThreatObject>()) {
      threat.image = plain->threat;
    } else if (image.object<PairThreatObject>()) {
      args.fail_at("image",
                   "Pair's image must be an image threat (Linf, L2, a transformation...), "
                   "got " +
                       image.object<PairThreatObject>()->threat.describe());
    } else {
      args.fail_kind("image", Kind::kThreat);
    }
  }
  if (args.has("text")) {
    const Value& text = args.get("text");
    auto pair = text.object<PairThreatObject>();
    if (!pair || !pair->threat.text || pair->threat.image) {
      args.fail_at("text", "Pair's text must be a text threat such as WordSub(words: 1), got " +
                               format_value(text));
    }
    threat.text = pair->threat.text;
  }
  if (!threat.image && !threat.text) {
    args.fail("Pair needs an image threat, a text threat or both");
  }
  return threat_value(threat);
}

Value make_word_attack_value(CallArgs& args) {
  return attack_value(make_word_attack(pair_threat_arg(args, "threat", false, true)));
}

Value make_co_attack_value(CallArgs& args) {
  CoAttackOptions options;
  options.steps = args.integer("steps");
  options.step = step_option(args);
  return attack_value(make_co_attack(pair_threat_arg(args, "threat", true, true), options));
}

Value make_sga_value(CallArgs& args) {
  SgaOptions options;
  options.steps = args.integer("steps");
  options.step = step_option(args);
  options.scales.clear();
  for (const auto& item : *args.get("scales").as<ListPtr>()) {
    if (!item.is<double>() || !(item.as<double>() > 0)) {
      args.fail_at("scales", "SGA's scales must be a list of positive numbers, found " +
                                 format_value(item, true));
    }
    options.scales.push_back(item.as<double>());
  }
  return attack_value(make_sga(pair_threat_arg(args, "threat", true, true), options));
}

// a.on_pairs(m, data): the captioned data as the attack leaves it, `batch` images (with all
// their captions) at a time, with the session's generator.
Value attack_on_pairs(CallArgs& args) {
  const Value& self = args.get("self");
  MultimodalAttackPtr attack;
  if (auto mm = self.object<MultimodalAttackObject>()) {
    attack = mm->attack;
  } else if (auto plain = self.object<AttackObject>()) {
    attack = make_image_attack(plain->attack);
  } else {
    args.fail_kind("self", Kind::kAttack);
  }
  TwoTowerPtr model = two_tower_arg(args, "model");
  const PairedDataset& pairs = pairs_arg(args, "data");
  const int64_t batch = args.integer("batch");
  std::vector<PairedDataset> parts;
  for (const auto& part : pairs.batches(batch)) {
    PairedDataset out = attack->run(*model, part, args.interp.generator());
    out.images = out.images.cpu();
    parts.push_back(std::move(out));
  }
  PairedDataset result = pairs;
  if (!parts.empty()) {
    std::vector<torch::Tensor> images;
    result.captions.clear();
    for (auto& part : parts) {
      images.push_back(part.images);
      for (auto& list : part.captions) result.captions.push_back(std::move(list));
    }
    result.images = torch::cat(images);
  }
  return Value(ObjectPtr(std::make_shared<PairsObject>(std::move(result))));
}

Value itr_table_value(CallArgs& args) {
  TwoTowerPtr model = two_tower_arg(args, "model");
  const PairedDataset& pairs = pairs_arg(args, "data");
  std::vector<NamedMultimodalAttack> attacks;
  std::vector<Value> items;
  const Value& given = args.get("attacks");
  if (given.is<ListPtr>()) {
    items = *given.as<ListPtr>();
  } else {
    items = {given};
  }
  std::map<std::string, int> seen;
  for (const auto& item : items) {
    NamedMultimodalAttack named;
    if (auto mm = item.object<MultimodalAttackObject>()) {
      named = {mm->attack->name(), mm->attack};
    } else if (auto plain = item.object<AttackObject>()) {
      // PGD, APGD, FGSM...: the image-only attack on the similarity (make_image_attack).
      named = {plain->attack->name(), make_image_attack(plain->attack)};
    } else {
      args.fail_at("attacks", "itr_table's attacks must be a list of attacks, found " +
                                  kind_with_article(item.kind()));
    }
    if (const int n = ++seen[named.name]; n > 1) named.name += " (" + std::to_string(n) + ")";
    attacks.push_back(std::move(named));
  }
  std::vector<int64_t> ks;
  for (const auto& item : *args.get("k").as<ListPtr>()) {
    if (!item.is<double>() || item.as<double>() < 1 || !is_whole(item.as<double>())) {
      args.fail_at("k",
                   "itr_table's k must be a list of whole numbers ≥ 1, "
                   "found " +
                       format_value(item, true));
    }
    ks.push_back(static_cast<int64_t>(item.as<double>()));
  }
  if (ks.empty()) args.fail_at("k", "itr_table's k must not be empty");
  const int64_t batch = args.integer("batch");
  uint64_t seed = 0;
  if (args.has("seed")) {
    seed = static_cast<uint64_t>(args.integer("seed"));
  } else {
    seed = next_seed(args.interp.generator());
  }
  ItrTable table = itr_table(*model, pairs, attacks, ks, batch, seed);
  return Value(ObjectPtr(std::make_shared<ItrTableObject>(std::move(table))));
}

}  // namespace

void register_mmattack_builtins(BuiltinTable& t) {
  const std::string threats = "threats";
  const std::string attacks = "attacks";
  t.add({"WordSub", threats,
         Signature{{optional("words", bits(Kind::kNumber), Value(1)).whole().at_least(0),
                    optional("candidates", bits(Kind::kNumber), Value(20)).whole().at_least(1)}}
             .returning(kThreatKind),
         "The text threat: at most `words` words of a caption replaced by WordNet synonyms, up to "
         "`candidates` tried per word (the paper's one-word text budget).",
         "threat ws = WordSub(words: 1, candidates: 20)", make_wordsub});
  t.add({"Pair", threats,
         Signature{{optional("image", Kind::kThreat | Kind::kNone, Value()),
                    optional("text", Kind::kThreat | Kind::kNone, Value())}}
             .returning(kThreatKind),
         "The product threat on image–text pairs: an image threat and a text threat (WordSub), "
         "either may be left out.",
         "threat p = Pair(image: Linf(eps: 2/255), text: WordSub(words: 1))", make_pair});
  t.add({"WordAttack", attacks, Signature{{required("threat", kThreatKind)}}.returning(kAttackKind),
         "Text attack (eq. 4), BERT-Attack style with WordNet candidates: words ranked by how far "
         "deleting each moves the caption's embedding, then greedily replaced by the synonym that "
         "moves it farthest.",
         "attack wa = WordAttack(WordSub(words: 1))", make_word_attack_value});
  t.add({"CoAttack", attacks,
         Signature{{required("threat", kThreatKind),
                    optional("steps", bits(Kind::kNumber), Value(10)).whole().at_least(0),
                    optional_auto("step", bits(Kind::kNumber), "2.5*eps/steps").at_least(0)}}
             .returning(kAttackKind),
         "Co-Attack (Zhang et al. 2022): the captions first (WordAttack, eq. 4), then PGD on the "
         "image lowering its cosine to its perturbed captions (eq. 5).",
         "attack co = CoAttack(Pair(image: Linf(eps: 2/255), text: WordSub()), steps: 10)",
         make_co_attack_value});
  t.add({"SGA", attacks,
         Signature{{required("threat", kThreatKind),
                    optional("steps", bits(Kind::kNumber), Value(10)).whole().at_least(0),
                    optional_auto("step", bits(Kind::kNumber), "2.5*eps/steps").at_least(0),
                    optional("scales", bits(Kind::kList),
                             make_list({Value(0.5), Value(0.75), Value(1.25), Value(1.5)}))}}
             .returning(kAttackKind),
         "Set-level guidance attack (Lu et al. 2023): the image against all its captions through "
         "rescaled copies, the captions against the adversarial image, then the image again.",
         "attack sga = SGA(Pair(image: Linf(eps: 2/255), text: WordSub()), scales: [0.5, 1.5])",
         make_sga_value});
  t.add({"attack.on_pairs", attacks,
         Signature{{required("self", kAttackKind), required("model", bits(Kind::kModel)),
                    required("data", bits(Kind::kPairs)),
                    optional("batch", bits(Kind::kNumber), Value(256)).whole().at_least(1)}}
             .returning(bits(Kind::kPairs)),
         "The captioned data as an image-text attack leaves it (perturbed images and captions), "
         "`batch` images at a time; PGD & co. perturb only the images.",
         "fn adversarial(m, test) { WordAttack(WordSub()).on_pairs(m, test.take(10)) }",
         attack_on_pairs});
  t.add({"itr_table", attacks,
         Signature{{required("model", bits(Kind::kModel)), required("data", bits(Kind::kPairs)),
                    optional("attacks", Kind::kList | Kind::kAttack, make_list({})),
                    optional("k", bits(Kind::kList), make_list({Value(1), Value(5)})),
                    optional("batch", bits(Kind::kNumber), Value(256)).whole().at_least(1),
                    optional("seed", Kind::kNumber | Kind::kNone, Value()).whole().at_least(0)}},
         "Retrieval robustness like the paper's Table 1: TR and IR Recall@K clean and under each "
         "attack (PGD & co. attack the image's similarity); fields t.clean.tr.r1, t.rows...",
         "fn table1(m, test) { itr_table(m, test, attacks: [PGD(Linf(eps: 2/255)), "
         "CoAttack(Pair(image: Linf(eps: 2/255), text: WordSub()))]) }",
         itr_table_value});
}

}  // namespace perturb::lang
