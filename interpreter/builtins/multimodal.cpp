// Two-tower image–text models: the built-in text encoder and two-tower, TorchScript
// two-towers, contrastive / TeCoA / MAT training (train() dispatches here for a two-tower) and
// image–text retrieval Recall@K (docs/multimodal.md, "Two-tower models and contrastive
// training").

#include <fstream>

#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/multimodal.h"
#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/train.h"
#include "interpreter/builtins/whole.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/itr.h"
#include "runtime/model/text_encoder.h"
#include "runtime/model/torchscript_two_tower.h"
#include "runtime/model/zoo_model.h"
#include "runtime/model/zoo_two_tower.h"
#include "runtime/train/contrastive.h"

namespace perturb::lang {
namespace {

// zoo.text_encoder(...): a text tower, a model only zoo.two_tower takes.
class TextEncoderObject : public Object {
 public:
  explicit TextEncoderObject(TextEncoderPtr encoder) : encoder(std::move(encoder)) {}
  Kind kind() const override { return Kind::kModel; }
  std::string describe() const override { return "model " + encoder->describe(); }
  TextEncoderPtr encoder;
};

Value tower_value(TwoTowerPtr model) {
  return Value(ObjectPtr(std::make_shared<TwoTowerObject>(std::move(model))));
}

uint64_t seed_arg(CallArgs& args) {
  return args.has("seed") ? static_cast<uint64_t>(args.integer("seed"))
                          : next_seed(args.interp.generator());
}

bool is_clip_vocabulary(const std::string& path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) return true;
  std::ifstream in(path);
  if (!in) throw IoError("cannot open vocabulary '" + path + "'");
  std::string first;
  std::getline(in, first);
  return first.find("#version") != std::string::npos;
}

// vocab: captioned data (a word vocabulary built from its captions), a CLIP BPE vocabulary file
// (bpe_simple_vocab_16e6.txt[.gz]) or a word list (one token per line).
TokenizerPtr tokenizer_arg(CallArgs& args, int64_t length_or_zero) {
  const Value& vocab = args.get("vocab");
  if (auto pairs = vocab.object<PairsObject>()) {
    return make_word_tokenizer(pairs->data.all_captions(), length_or_zero ? length_or_zero : 32);
  }
  if (!vocab.is<std::string>()) {
    args.fail("vocab must be captioned data (pairs) or a vocabulary file, got " +
              kind_with_article(vocab.kind()));
  }
  const std::string& path = vocab.as<std::string>();
  if (is_clip_vocabulary(path)) return load_clip_bpe(path, length_or_zero ? length_or_zero : 77);
  return load_word_list_tokenizer(path, length_or_zero ? length_or_zero : 32);
}

Value text_encoder_of(CallArgs& args) {
  TextEncoderOptions options;
  options.dim = args.integer("dim");
  options.width = args.integer("width");
  const int64_t length = args.integer("length");
  auto encoder =
      std::make_shared<TextEncoder>(tokenizer_arg(args, length), options, seed_arg(args));
  encoder->to(args.interp.device());
  return Value(ObjectPtr(std::make_shared<TextEncoderObject>(encoder)));
}

Value two_tower_of(CallArgs& args) {
  const uint64_t seed = seed_arg(args);
  TwoTowerOptions options;
  options.dim = args.integer("dim");
  options.temperature = args.number("temperature");
  std::shared_ptr<PairsObject> pairs;
  if (args.has("vocab")) pairs = args.get("vocab").object<PairsObject>();
  if (pairs && pairs->data.images.defined() && pairs->data.images.dim() == 4) {
    options.channels = pairs->data.images.size(1);
    options.height = pairs->data.images.size(2);
    options.width = pairs->data.images.size(3);
  }
  TextEncoderPtr text;
  if (args.has("text")) {
    auto given = args.get("text").object<TextEncoderObject>();
    if (!given) {
      args.fail("zoo.two_tower's text must be a text encoder (zoo.text_encoder(...)), got " +
                format_value(args.get("text")));
    }
    text = given->encoder;
  } else {
    if (!args.has("vocab")) {
      args.fail(
          "zoo.two_tower needs vocab: (captioned data or a vocabulary file) or text: (a "
          "text encoder)");
    }
    TextEncoderOptions text_options;
    text_options.dim = options.dim;
    text = std::make_shared<TextEncoder>(tokenizer_arg(args, 0), text_options, seed + 1);
  }
  ModelPtr image;
  if (args.has("image")) {
    auto given = args.get("image").object<ModelObject>();
    if (!given) {
      args.fail(
          "zoo.two_tower's image must be an image model (zoo.small_cnn(...), load(...)), "
          "got " +
          format_value(args.get("image")));
    }
    image = given->model;
    if (auto* zoo = dynamic_cast<ZooModel*>(image.get())) {
      options.channels = zoo->options().channels;
      options.height = zoo->options().height;
      options.width = zoo->options().width;
    }
  } else {
    image = make_default_image_tower(options.channels, options.height, options.width, seed);
  }
  image->to(args.interp.device());
  text->to(args.interp.device());
  TwoTowerPtr model = make_two_tower(image, text, options, seed + 2);
  model->to(args.interp.device());
  return tower_value(model);
}

Value load_two_tower_of(CallArgs& args) {
  const bool one = args.has("path");
  const bool two = args.has("image") || args.has("text");
  const int64_t length = args.has("length") ? args.integer("length") : 0;
  if (one == two) {
    args.fail(
        "load_two_tower takes either one file (load_two_tower(\"model.ts\", vocab: ...)) or "
        "two (load_two_tower(image: \"img.ts\", text: \"txt.ts\", vocab: ...))");
  }
  if (one) {
    return tower_value(load_torchscript_two_tower(args.string("path"), tokenizer_arg(args, length),
                                                  args.interp.device()));
  }
  if (!args.has("image") || !args.has("text")) {
    args.fail("load_two_tower needs both image: and text: TorchScript files");
  }
  return tower_value(load_torchscript_two_tower(args.string("image"), args.string("text"),
                                                tokenizer_arg(args, length), args.interp.device()));
}

std::vector<int64_t> k_list(CallArgs& args) {
  std::vector<int64_t> ks;
  const Value& k = args.get("k");
  if (k.is<double>()) return {args.integer("k")};
  for (const auto& item : *k.as<ListPtr>()) {
    if (!item.is<double>() || !is_whole(item.as<double>()) || item.as<double>() < 1) {
      args.fail_at("k", "k must be a list of whole numbers of at least 1, found " +
                            format_value(item, true));
    }
    ks.push_back(static_cast<int64_t>(item.as<double>()));
  }
  if (ks.empty()) args.fail_at("k", "k must not be empty");
  return ks;
}

Value itr_record(const ItrResult& r) {
  auto tr = std::make_shared<Record>();
  auto ir = std::make_shared<Record>();
  for (size_t i = 0; i < r.ks.size(); ++i) {
    const std::string key = "r" + std::to_string(r.ks[i]);
    tr->set(key, Value(r.text_recall[i]));
    ir->set(key, Value(r.image_recall[i]));
  }
  auto record = std::make_shared<Record>();
  record->set("tr", Value(tr));
  record->set("ir", Value(ir));
  record->set("images", Value(r.images));
  record->set("captions", Value(r.captions));
  if (!r.attack.empty()) record->set("attack", Value(r.attack));
  record->set("seconds", Value(r.seconds));
  return Value(record);
}

// An attack given to an image–text builtin: a multimodal attack as it is, a classifier attack
// (PGD, APGD, FGSM...) as the image-only attack on the similarity.
MultimodalAttackPtr multimodal_attack_arg(CallArgs& args, const std::string& name) {
  const Value& value = args.get(name);
  if (auto multimodal = value.object<MultimodalAttackObject>()) return multimodal->attack;
  if (auto attack = value.object<AttackObject>()) return make_image_attack(attack->attack);
  args.fail(name + " must be an attack, got " + kind_with_article(value.kind()));
}

Value itr_of(CallArgs& args) {
  TwoTowerPtr tower = two_tower_arg(args, "model");
  const PairedDataset& data = pairs_arg(args, "data");
  const int64_t batch = args.integer("batch");
  MultimodalAttackPtr attack;
  if (args.has("attack")) {
    attack = multimodal_attack_arg(args, "attack");
  }
  return itr_record(
      evaluate_itr(*tower, data, attack.get(), args.interp.generator(), k_list(args), batch));
}

Value itr_chance_of(CallArgs& args) {
  const PairedDataset& data = pairs_arg(args, "data");
  return itr_record(chance_itr(data, k_list(args)));
}

std::vector<std::string> text_list(CallArgs& args, const std::string& name) {
  const Value& value = args.get(name);
  if (value.is<std::string>()) return {value.as<std::string>()};
  std::vector<std::string> out;
  for (const auto& item : *value.as<ListPtr>()) {
    if (!item.is<std::string>()) {
      args.fail(name + " must be a list of strings, found " + kind_with_article(item.kind()));
    }
    out.push_back(item.as<std::string>());
  }
  return out;
}

Value encode_image_of(CallArgs& args) {
  TwoTowerPtr tower = two_tower_arg(args, "model");
  torch::Tensor x = args.tensor("images");
  const bool one = x.dim() == 3;
  if (one) x = x.unsqueeze(0);
  TwoTowerModeGuard eval(*tower, false);
  torch::Tensor out = tower->encode_image(x);
  return Value(one ? out.squeeze(0) : out);
}

Value encode_text_of(CallArgs& args) {
  TwoTowerPtr tower = two_tower_arg(args, "model");
  const bool one = args.get("texts").is<std::string>();
  const auto texts = text_list(args, "texts");
  TwoTowerModeGuard eval(*tower, false);
  torch::Tensor out = tower->encode_text(texts);
  return Value(one ? out.squeeze(0) : out);
}

}  // namespace

Value train_two_tower(CallArgs& args) {
  TwoTowerPtr tower = two_tower_arg(args, "model");
  const PairedDataset& pairs = pairs_arg(args, "data");
  // train()'s classifier options that mean nothing for contrastive training.
  for (const char* name : {"fast_step", "augment", "classes", "val", "val_attack", "schedule"}) {
    if (args.has(name)) {
      args.fail(std::string(name) + " is not an option of two-tower training");
    }
  }
  if (args.number("val_split") != 0 || !args.string("log").empty() ||
      !args.string("checkpoint").empty() || args.boolean("resume")) {
    args.fail(
        "validation splits, logs, checkpoints and resume are not options of two-tower "
        "training");
  }
  ContrastiveOptions options;
  if (args.get("method").kind() != Kind::kString) {
    args.fail("a two-tower model trains with method \"contrastive\", \"tecoa\" or \"mat\"");
  }
  options.method = args.string("method");
  if (options.method == "standard") options.method = "contrastive";
  options.epochs = args.integer("epochs");
  options.batch = args.integer("batch");
  // Contrastive training from scratch moves slowly with plain SGD: Adam unless told otherwise.
  options.optimizer = args.has("optimizer")
                          ? args.object<OptimizerObject>("optimizer", Kind::kOptimizer)->spec
                          : OptimizerSpec{"adam", 1e-3};
  options.seed = args.seed();
  if (args.has("adversary")) {
    options.adversary = multimodal_attack_arg(args, "adversary");
  }
  options.lr_schedule.kind = args.string("lr_schedule");
  options.lr_schedule.milestones = args.numbers("milestones");
  options.lr_schedule.gamma = args.number("gamma");
  options.lr_schedule.pct_start = args.number("pct_start");
  train_contrastive(*tower, pairs, options);
  return args.get("model");
}

void register_multimodal_builtins(BuiltinTable& t) {
  const std::string g = "image–text models";
  const Kinds kNum = bits(Kind::kNumber);
  const Kinds kModel = bits(Kind::kModel);
  const Value default_ks = make_list({Value(1), Value(5), Value(10)});
  t.add(
      {"zoo.text_encoder", g,
       Signature{{required("vocab", Kind::kPairs | Kind::kString), optional("dim", kNum, Value(64)),
                  optional("length", kNum, Value(32))
                      .whole()
                      .at_least(2)
                      .doc("tokens per caption, start and end markers included"),
                  optional("width", kNum, Value(128)), optional_auto("seed", kNum, "from --seed")}}
           .returning(kModel),
       "A text tower for zoo.two_tower: token and position embeddings, a ReLU layer, mean "
       "pooling over the tokens and a linear map to dim; the tokenizer (words of the captions, "
       "CLIP BPE or a word list file) is built from vocab and saved with the model.",
       "let te = zoo.text_encoder(vocab: fashion_captions(split: \"train\", limit: 50), dim: 32)",
       text_encoder_of});
  t.add({"zoo.two_tower", g,
         Signature{{optional("image", Kind::kModel | Kind::kNone, Value()),
                    optional("text", Kind::kModel | Kind::kNone, Value()),
                    optional("vocab", Kind::kPairs | Kind::kString | Kind::kNone, Value()),
                    optional("dim", kNum, Value(64)), optional("temperature", kNum, Value(0.07)),
                    optional_auto("seed", kNum, "from --seed")}}
             .returning(kModel),
         "A CLIP-style image–text model: image model (default small_cnn with 128 outputs) and "
         "text encoder (default zoo.text_encoder(vocab:)), each projected to dim, and a "
         "learnable logit scale log(1/temperature) clamped at log 100.",
         "let m = zoo.two_tower(vocab: fashion_captions(split: \"train\", limit: 50), dim: 32)",
         two_tower_of});
  t.add({"load_two_tower", g,
         Signature{{optional("path", Kind::kString | Kind::kNone, Value()),
                    required("vocab", Kind::kPairs | Kind::kString),
                    optional("image", Kind::kString | Kind::kNone, Value()),
                    optional("text", Kind::kString | Kind::kNone, Value()),
                    optional_auto("length", kNum, "77 for a CLIP vocabulary, else 32")}}
             .returning(kModel),
         "A two-tower exported from PyTorch: one TorchScript module with encode_image(x), "
         "encode_text(ids, mask) and logit_scale, or two (image: forward(x), text: forward(ids, "
         "mask)); vocab: captioned data, a CLIP BPE vocabulary or a word list file.",
         "let m = load_two_tower(\"clip_small.ts\", vocab: \"vocab.txt\")", load_two_tower_of});
  t.add({"itr", g,
         Signature{{required("model", kModel), required("data", bits(Kind::kPairs)),
                    optional("attack", Kind::kAttack | Kind::kNone, Value()),
                    optional("k", Kind::kList | Kind::kNumber, default_ks),
                    optional("batch", kNum, Value(256)).whole().at_least(1)}}
             .returning(bits(Kind::kRecord)),
         "Image–text retrieval: {tr: {r1:, r5:, r10:}, ir: {...}, images, captions, seconds} — "
         "text retrieval (image → every caption; any of its captions counts) and image "
         "retrieval Recall@K; attack: each batch attacked before it is embedded.",
         "let r = itr(zoo.two_tower(vocab: fashion_captions(split: \"test\", limit: 20)),\n"
         "            fashion_captions(split: \"test\", limit: 20), k: [1, 5])",
         itr_of});
  t.add({"itr_chance", g,
         Signature{{required("data", bits(Kind::kPairs)),
                    optional("k", Kind::kList | Kind::kNumber, default_ks)}}
             .returning(bits(Kind::kRecord)),
         "The Recall@K a random ranking scores on the data, in itr's layout (TR: any of an "
         "image's c captions among K of all captions; IR: K/images).",
         "let chance = itr_chance(fashion_captions(split: \"test\", limit: 100), k: [1, 5])",
         itr_chance_of});
  t.add({"model.encode_image", g,
         Signature{{required("model", kModel), required("images", bits(Kind::kTensor))}}.returning(
             bits(Kind::kTensor)),
         "A two-tower's image embeddings Φ(I) [N, d] (not normalised), in eval mode.",
         "let e = zoo.two_tower(vocab: fashion_captions(split: \"test\", limit: 5))"
         ".encode_image(zeros([2, 1, 28, 28]))",
         encode_image_of});
  t.add({"model.encode_text", g,
         Signature{{required("model", kModel), required("texts", Kind::kList | Kind::kString)}}
             .returning(bits(Kind::kTensor)),
         "A two-tower's caption embeddings Ψ(T) [N, d] (not normalised), in eval mode.",
         "let e = zoo.two_tower(vocab: fashion_captions(split: \"test\", limit: 5))"
         ".encode_text([\"a dark shirt\"])",
         encode_text_of});
}

}  // namespace perturb::lang
