// Captioned data and text: fashion_captions, pairs(...) from a folder and a captions
// file, the paired data's methods, WordNet synonyms and EDA.
#include <sstream>

#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/table.h"
#include "runtime/core/random.h"
#include "runtime/data/pairs.h"
#include "runtime/text/eda.h"
#include "runtime/text/wordnet.h"

namespace perturb::lang {
namespace {

Value pairs_value(PairedDataset data) {
  return Value(ObjectPtr(std::make_shared<PairsObject>(std::move(data))));
}

const PairedDataset& receiver(CallArgs& args) {
  return args.object<PairsObject>("self", Kind::kPairs)->data;
}

Value make_fashion_captions(CallArgs& a) {
  return pairs_value(
      fashion_captions(a.string("split"), a.integer("per_image"), a.integer("limit"), a.seed()));
}

Value load_pairs_value(CallArgs& a) {
  PairsOptions options;
  options.size = a.integer("size");
  options.split = a.string("split");
  options.limit = a.integer("limit");
  options.grayscale = a.boolean("grayscale");
  return pairs_value(load_pairs(a.string("images"), a.string("captions"), options));
}

Value strings_value(const std::vector<std::string>& words) {
  return make_list(std::vector<Value>(words.begin(), words.end()));
}

}  // namespace

void register_text_builtins(BuiltinTable& t) {
  const std::string g = "data";
  const Kinds kPairsKind = bits(Kind::kPairs);
  const Kinds kNumber = bits(Kind::kNumber);
  const Kinds kString = bits(Kind::kString);
  t.add({"fashion_captions", g,
         Signature{{optional("split", kString, Value("train")),
                    optional("per_image", kNumber, Value(5)), optional("limit", kNumber, Value(-1)),
                    optional("seed", kNumber, Value(0)).whole().at_least(0)}}
             .returning(kPairsKind),
         "Fashion-MNIST with per_image different captions per image, generated from measured "
         "brightness, ink coverage, width, height and symmetry (a teaching set).",
         "fashion_captions(split: \"test\", per_image: 5, limit: 1000)", make_fashion_captions});
  t.add({"pairs", g,
         Signature{{required("images", kString), required("captions", kString),
                    optional("size", kNumber, Value(0))
                        .whole()
                        .at_least(0)
                        .doc("image side in pixels; 0 keeps the images' size"),
                    optional("split", kString, Value("")), optional("limit", kNumber, Value(-1)),
                    optional("grayscale", bits(Kind::kBool), Value(false))}}
             .returning(kPairsKind),
         "Captioned images from a folder and a captions file (Karpathy or COCO JSON, CSV "
         "image,caption, Flickr30k image| n| comment); size: resizes to size×size.",
         "pairs(images: \"flickr30k/images\", captions: \"flickr30k/results.csv\", size: 64)",
         load_pairs_value});
  t.add({"pairs.take", g,
         Signature{{required("self", kPairsKind), required("n", kNumber)}}.returning(kPairsKind),
         "The first n images with their captions.",
         "fashion_captions(split: \"test\", limit: 100).take(10)",
         [](CallArgs& a) { return pairs_value(receiver(a).take(a.integer("n"))); }});
  t.add({"pairs.shuffle", g,
         Signature{{required("self", kPairsKind),
                    optional("seed", kNumber, Value(0)).whole().at_least(0)}}
             .returning(kPairsKind),
         "The images, with their captions and labels, in a random order drawn from seed.",
         "fashion_captions(split: \"test\", limit: 100).shuffle(seed: 1)",
         [](CallArgs& a) { return pairs_value(receiver(a).shuffle(a.seed())); }});
  t.add({"pairs.first_captions", g, Signature{{required("self", kPairsKind)}}.returning(kPairsKind),
         "The same images with only their first caption each (1:1 pairs).",
         "fashion_captions(split: \"test\", limit: 100).first_captions()",
         [](CallArgs& a) { return pairs_value(receiver(a).first_captions()); }});
  t.add({"synonyms", "text", Signature{{required("word", kString)}}.returning(bits(Kind::kList)),
         "Single-word WordNet synonyms of word over all its senses, most frequent sense first "
         "(empty for stop words and unknown words).",
         "synonyms(\"shirt\")",
         [](CallArgs& a) { return strings_value(WordNet::shared().synonyms(a.string("word"))); }});
  t.add({"eda", "text",
         Signature{{required("text", kString), optional("alpha", kNumber, Value(0.3)),
                    optional("seed", kNumber, Value(0)).whole().at_least(0)}}
             .returning(kString),
         "One EDA augmentation of text (Wei and Zou 2019): synonym replacement, insertion, swap "
         "or deletion of about alpha of its words.",
         "eda(\"a dark wide coat\", alpha: 0.3, seed: 1)", [](CallArgs& a) {
           const double alpha = a.number("alpha");
           if (!(alpha > 0 && alpha <= 1)) {
             std::ostringstream message;
             message << "eda needs alpha in (0, 1], got " << alpha;
             a.fail(message.str());
           }
           auto gen = make_generator(a.seed());
           return Value(eda_augment(a.string("text"), alpha, gen));
         }});
}

}  // namespace perturb::lang
