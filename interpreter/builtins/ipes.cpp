// IPES-GAN for unsupervised domain adaptation in re-identification (thesis ch. 3): the
// two-camera Fashion-MNIST split, train_ipes, the GAN's methods and the Generated policy.

#include "interpreter/builtins/ipes.h"

#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/policy.h"
#include "interpreter/builtins/table.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "runtime/augment/generated.h"
#include "runtime/data/fashion_domains.h"
#include "runtime/train/ipes_train.h"

namespace perturb::lang {

std::string IpesObject::describe() const {
  std::string text = "gan ipes_gan(classes: " + std::to_string(gan->options().classes) + ", " +
                     std::to_string(gan->epochs_trained) + " epochs, " +
                     std::to_string(gan->iterations_trained) + " iterations";
  if (!gan->last_losses.empty()) {
    text += "; last epoch:";
    for (const auto& [name, value] : gan->last_losses) {
      text += " " + name + " " + format_number(value);
    }
  }
  return text + ")";
}

std::optional<Value> IpesObject::field(const std::string& name) const {
  if (name == "losses") {
    auto record = std::make_shared<Record>();
    for (const auto& [key, value] : gan->last_losses) record->set(key, Value(value));
    return Value(record);
  }
  if (name == "iterations") return Value(gan->iterations_trained);
  return std::nullopt;
}

namespace {

const Kinds kGanKind = bits(Kind::kGan);

std::shared_ptr<IpesGan> receiver(CallArgs& args) {
  return args.object<IpesObject>("self", Kind::kGan)->gan;
}

Value dataset_of(Dataset data) {
  return Value(ObjectPtr(std::make_shared<DatasetObject>(std::move(data))));
}

Value fashion_domains_of(CallArgs& args) {
  const int64_t limit = args.has("limit") ? args.integer("limit") : -1;
  DomainPair pair = fashion_domains(args.string("split"), limit, args.seed());
  auto record = std::make_shared<Record>();
  record->set("source", dataset_of(std::move(pair.source)));
  record->set("target", dataset_of(std::move(pair.target)));
  return Value(record);
}

Value train_ipes_of(CallArgs& args) {
  const Dataset& source = args.object<DatasetObject>("source", Kind::kDataset)->data;
  const Dataset& target = args.object<DatasetObject>("target", Kind::kDataset)->data;
  IpesTrainOptions o;
  o.epochs = args.integer("epochs");
  o.batch = args.integer("batch");
  o.lr = args.number("lr");
  o.id_lr = args.number("id_lr");
  o.std_epochs = args.integer("std_epochs");
  o.warmup = args.number("warmup");
  o.seed = args.seed();
  o.quiet = args.boolean("quiet");
  // Only the target's images go to the trainer: its labels are for evaluation.
  return Value(
      ObjectPtr(std::make_shared<IpesObject>(train_ipes(source, target.in_memory().x, o))));
}

IpesDomain domain_of(CallArgs& args) {
  return args.string("to") == "target" ? IpesDomain::kTarget : IpesDomain::kSource;
}

Value generate_of(CallArgs& args) {
  return Value(
      receiver(args)->generate(args.tensor("x"), domain_of(args), args.interp.generator()));
}

}  // namespace

void describe_ipes_kinds(KindRegistry& registry) {
  KindDescriptor gan(Kind::kGan, "gan", "an IPES-GAN");
  gan.fields = {
      {"losses", bits(Kind::kRecord),
       "Each loss's mean over the last epoch: cyc (eq. 3.6), self, con (3.5), cam "
       "(3.11), adv and disc (3.12), ce (3.15), soft_ce (3.17), kl (3.18), total (3.19)."},
      {"iterations", bits(Kind::kNumber), "How many iterations it trained."}};
  gan.fields_known = true;
  registry.add(std::move(gan));
}

void register_ipes_builtins(BuiltinTable& t) {
  const std::string g = "domain adaptation";
  const Kinds kNum = bits(Kind::kNumber);
  const Kinds kData = bits(Kind::kDataset);
  t.add(
      {"fashion_domains", g,
       Signature{{optional("split", bits(Kind::kString), Value("train")).one_of({"train", "test"}),
                  optional("limit", kNum, Value()).whole().at_least(1),
                  optional("seed", kNum, Value()).whole().at_least(0)}}
           .returning(bits(Kind::kRecord)),
       "Fashion-MNIST as two cameras, {source, target}: the source sees the items as they are; "
       "the target other items, smaller and shifted, with lifted mid-tones on a textured "
       "background drawn from seed. The class is the identity; limit: images per camera. The "
       "target's labels are for evaluation (docs/ipes.md).",
       "let d = fashion_domains(split: \"train\", limit: 200, seed: 0)", fashion_domains_of});
  t.add({"train_ipes", g,
         Signature{{required("source", kData), required("target", kData),
                    optional("epochs", kNum, Value(5)).whole().at_least(1),
                    optional("batch", kNum, Value(16)).whole().at_least(1),
                    optional("lr", kNum, Value(2e-4)).above(0),
                    optional("id_lr", kNum, Value(0.01)).above(0),
                    optional("std_epochs", kNum, Value(2)).whole().at_least(0),
                    optional("warmup", kNum, Value(0.4)).at_least(0).at_most(1),
                    optional("seed", kNum, Value()).whole().at_least(0),
                    optional("quiet", bits(Kind::kBool), Value(false))}}
             .returning(kGanKind),
         "IPES-GAN (thesis ch. 3) trained on labelled source images and the target's images "
         "alone (never its labels): environment switching, eq. 3.19's losses; lr: Adam for the "
         "generator and discriminator, id_lr: SGD for the identity encoder; std_epochs: the "
         "standard CNN of eq. 3.18; warmup: fraction of the run before w2, w4 ramp to 3.",
         "let d = fashion_domains(limit: 64)\nlet gan = train_ipes(d.source, d.target, epochs: 2)",
         train_ipes_of});
  t.add({"gan.generate", g,
         Signature{
             {required("self", kGanKind), required("x", bits(Kind::kTensor)),
              optional("to", bits(Kind::kString), Value("target")).one_of({"target", "source"})}}
             .returning(bits(Kind::kTensor)),
         "The images x [N, 1, H, W] with the environment (pose and camera style) of random "
         "images of the `to` domain, keeping their identity: I^{S→G} (eq. §3.2.1).",
         "let gan = train_ipes(train_set, test_set, epochs: 1)\n"
         "let switched = gan.generate(x, to: \"target\")",
         generate_of});
  t.add(
      {"gan.identity", g, Signature{{required("self", kGanKind)}}.returning(bits(Kind::kModel)),
       "The identity encoder E_id, the re-ID model, as a small_cnn classifier of the source "
       "identities (shares the weights; features() gives its embedding).",
       "let gan = train_ipes(train_set, test_set, epochs: 1)\nlet reid = features(gan.identity())",
       [](CallArgs& a) {
         return Value(ObjectPtr(std::make_shared<ModelObject>(receiver(a)->identity_model())));
       }});
  t.add(
      {"Generated", "policies",
       Signature{{required("gan", kGanKind),
                  optional("to", bits(Kind::kString), Value("target")).one_of({"target", "source"}),
                  optional("p", kNum, Value(1.0)).at_least(0).at_most(1)}}
           .returning(bits(Kind::kPolicy)),
       "IPES-GAN's environment switch as a policy: each image (with chance p) becomes its "
       "version in the `to` domain's environment; labels kept (the thesis's pseudo-labels).",
       "let gan = train_ipes(train_set, test_set, epochs: 1)\n"
       "policy switch = Generated(gan, to: \"target\", p: 0.5)",
       [](CallArgs& a) {
         auto gan = a.object<IpesObject>("gan", Kind::kGan)->gan;
         return policy_value(make_generated(gan, a.string("to"), a.number("p")));
       }});
}

}  // namespace perturb::lang
