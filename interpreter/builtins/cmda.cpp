// CMDA (cross-modal-data-augmentation paper): the CMDA policy and its latent space,
// classifiers trained on paired data (the captions feed the policy as the teacher modality),
// Gaussian mixtures with AIC/BIC, and the anomaly-detection evaluation of the paper's Table I
// (Mahalanobis scores, AUROC, AUPR, mean ± 95% CI). docs/multimodal.md "## CMDA".

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>

#include "interpreter/builtins/cmda.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/policy.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/train.h"
#include "interpreter/eval.h"
#include "runtime/augment/cmda.h"
#include "runtime/augment/gmm.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/anomaly.h"
#include "runtime/train/train.h"

namespace perturb::lang {
namespace {

const Kinds kNum = bits(Kind::kNumber);
const Kinds kStr = bits(Kind::kString);

// Defaults of the space that train(..., augment: CMDA(...)) learns when the policy has none.
constexpr int64_t kDefaultSpaceEpochs = 5;

// A classifier's data from paired data: the images and their class labels.
Dataset labelled_images(const PairedDataset& p, const CallArgs& args) {
  if (!p.labels.defined()) {
    args.fail("a classifier trains on class labels, and " + p.name +
              " has none (captioned images without labels)");
  }
  return Dataset{p.images, p.labels, p.name};
}

// Images (and labels when there are) from a dataset, paired data or a tensor.
std::pair<torch::Tensor, torch::Tensor> images_of(const CallArgs& args, const std::string& name) {
  const Value& v = args.get(name);
  if (auto d = v.object<DatasetObject>()) {
    const Dataset data = d->data.in_memory();
    return {data.x, data.y};
  }
  if (auto p = v.object<PairsObject>()) return {p->data.images, p->data.labels};
  if (v.kind() == Kind::kTensor) return {args.tensor(name), torch::Tensor()};
  args.fail(name + " must be a dataset, paired data or a tensor of images, got " +
            kind_with_article(v.kind()));
}

TwoTowerPtr space_arg(const CallArgs& args, const std::string& name) {
  if (!args.has(name)) return nullptr;
  auto tower = args.get(name).object<TwoTowerObject>();
  if (!tower) {
    args.fail(name + " must be a two-tower model (cmda_space(...) or zoo.two_tower(...)), got " +
              kind_with_article(args.get(name).kind()));
  }
  return tower->model;
}

// A space learnt offline on the pairs (eq. 7), for a CMDA policy given without one.
TwoTowerPtr default_space(const PairedDataset& data, uint64_t seed) {
  SpaceOptions so;
  so.seed = seed;
  auto space = make_cmda_space(data, so);
  SpaceTrainOptions to;
  to.epochs = kDefaultSpaceEpochs;
  to.seed = seed;
  spdlog::info("CMDA: learning the common latent space on {} (eq. 7, {} epochs)", data.name,
               to.epochs);
  train_common_space(*space, data, to);
  return space;
}

Value cmda_policy(CallArgs& args) {
  CmdaOptions o;
  o.teacher = args.string("teacher");
  o.clusters = args.integer("clusters");
  o.p = args.number("p");
  o.samples = args.integer("samples");
  o.cluster_on = args.string("cluster_on");
  o.joint = args.boolean("joint");
  o.lambda = args.number("lambda");
  o.space_lr = args.number("lr");
  o.tau = args.number("tau");
  const std::string& loss = args.string("loss");
  o.supervised = loss == "supervised";
  return policy_value(std::make_shared<const CmdaPolicy>(o, space_arg(args, "space")));
}

Value cmda_space(CallArgs& args) {
  const PairedDataset& data = pairs_arg(args, "data");
  SpaceOptions so;
  so.dim = args.integer("dim");
  so.hidden = args.integer("hidden");
  so.seed = args.seed();
  SpaceTrainOptions to;
  to.epochs = args.integer("epochs");
  to.batch = args.integer("batch");
  to.lr = args.number("lr");
  to.tau = args.number("tau");
  to.seed = so.seed;
  const std::string& loss = args.string("loss");
  to.supervised = loss == "supervised";
  auto space = make_cmda_space(data, so);
  train_common_space(*space, data, to);
  return Value(ObjectPtr(std::make_shared<TwoTowerObject>(space)));
}

Value gmm_select_of(CallArgs& args) {
  torch::Tensor points;
  if (auto p = args.get("x").object<PairsObject>()) {
    TwoTowerPtr space = space_arg(args, "space");
    if (!space) args.fail("clustering paired data needs space: (its captions are embedded there)");
    // The paper clusters the language modality's embeddings (§IV-C): each image's first caption.
    points = caption_latents(*space, p->data.first_captions()).squeeze(1);
  } else {
    points = args.tensor("x");
    if (points.dim() > 2) points = points.flatten(1);
  }
  const int64_t max = args.integer("max");
  auto gen = make_generator(args.seed());
  GmmSelection s = select_gmm(points, max, GmmOptions{}, gen);
  std::vector<Value> m, aic, bic, ll;
  for (size_t i = 0; i < s.components.size(); ++i) {
    m.emplace_back(static_cast<double>(s.components[i]));
    aic.emplace_back(s.aic[i]);
    bic.emplace_back(s.bic[i]);
    ll.emplace_back(s.log_likelihood[i]);
  }
  auto r = std::make_shared<Record>();
  r->set("m", make_list(m));
  r->set("aic", make_list(aic));
  r->set("bic", make_list(bic));
  r->set("log_likelihood", make_list(ll));
  r->set("best", Value(static_cast<double>(s.best)));
  return Value(r);
}

Value anomaly_scores_of(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel);
  auto [xn, yn] = images_of(args, "normal");
  auto [xt, yt] = images_of(args, "test");
  (void)yt;
  if (!args.boolean("classes")) yn = torch::Tensor();
  return Value(mahalanobis_scores(*model->model, xn, yn, xt, args.integer("batch")));
}

Value anomaly_labels_of(CallArgs& args) {
  auto y = args.tensor("labels").to(torch::kCPU, torch::kInt64);
  auto normal = torch::zeros_like(y, torch::kBool);
  for (double c : args.numbers("normal")) normal |= y.eq(static_cast<int64_t>(c));
  return Value((~normal).to(torch::kInt64));
}

Value keep_classes_of(CallArgs& args) {
  auto classes = args.numbers("classes");
  if (classes.empty()) args.fail("classes must list at least one class");
  const bool relabel = args.boolean("relabel");
  auto pick = [&](const torch::Tensor& y) {
    auto yy = y.to(torch::kCPU, torch::kInt64);
    auto keep = torch::zeros_like(yy, torch::kBool);
    auto mapped = yy.clone();
    for (size_t k = 0; k < classes.size(); ++k) {
      auto is = yy.eq(static_cast<int64_t>(classes[k]));
      keep |= is;
      if (relabel) mapped.masked_fill_(is, static_cast<int64_t>(k));
    }
    auto idx = keep.nonzero().squeeze(1);
    return std::make_pair(idx, mapped.index_select(0, idx));
  };
  const Value& v = args.get("data");
  if (auto d = v.object<DatasetObject>()) {
    auto [idx, y] = pick(d->data.y);
    Dataset out = d->data.select(idx);
    out.y = y.to(d->data.y.device());
    return Value(ObjectPtr(std::make_shared<DatasetObject>(out)));
  }
  if (auto p = v.object<PairsObject>()) {
    if (!p->data.labels.defined()) args.fail(p->data.name + " has no class labels to keep");
    auto [idx, y] = pick(p->data.labels);
    PairedDataset out = p->data.select(idx);
    out.labels = y;
    return Value(ObjectPtr(std::make_shared<PairsObject>(out)));
  }
  args.fail("data must be a dataset or paired data, got " + kind_with_article(v.kind()));
}

// Student's t quantile t_{0.975, dof} (dof 1..30; 1.96 beyond).
double t975(int64_t dof) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  return dof >= 1 && dof <= 30 ? table[dof - 1] : 1.96;
}

// Mean and 95% CI half-width of values (0 for a single value).
std::pair<double, double> mean_ci(const std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  double mean = 0;
  for (double x : v) mean += x / n;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double ci = v.size() > 1 ? t975(static_cast<int64_t>(v.size()) - 1) *
                                       std::sqrt(ss / (n - 1)) / std::sqrt(n)
                                 : 0.0;
  return {mean, ci};
}

Value mean_ci_of(CallArgs& args) {
  auto v = args.numbers("values");
  if (v.empty()) args.fail("mean_ci needs at least one value");
  auto [mean, ci] = mean_ci(v);
  auto r = std::make_shared<Record>();
  r->set("mean", Value(mean));
  r->set("ci", Value(ci));
  r->set("n", Value(static_cast<double>(v.size())));
  return Value(r);
}

// The paper's Table I layout: one row per method, AUROC and AUPR as mean ± 95% CI in percent.
Value anomaly_table_of(CallArgs& args) {
  std::string out = "Method                 AUROC              AUPR\n";
  for (const auto& item : *args.get("rows").as<ListPtr>()) {
    if (!item.is<RecordPtr>()) args.fail("rows must be records {method, auroc, aupr}");
    const auto& rec = *item.as<RecordPtr>();
    const Value* method = rec.find("method");
    if (!method || !method->is<std::string>()) args.fail("each row needs method: a string");
    std::string line = method->as<std::string>();
    line.resize(std::max<size_t>(line.size(), 22), ' ');
    for (const char* key : {"auroc", "aupr"}) {
      const Value* v = rec.find(key);
      if (!v || !v->is<ListPtr>()) args.fail(std::string("each row needs ") + key + ": a list");
      std::vector<double> xs;
      for (const auto& x : *v->as<ListPtr>()) {
        if (!x.is<double>()) args.fail(std::string(key) + " must be a list of numbers");
        xs.push_back(x.as<double>());
      }
      if (xs.empty()) args.fail(std::string(key) + " must not be empty");
      auto [mean, ci] = mean_ci(xs);
      char cell[64];
      std::snprintf(cell, sizeof cell, " %6.2f ± %5.2f%%    ", 100 * mean, 100 * ci);
      line += cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out.pop_back();
  return Value(out);
}

ParamSpec cmda_loss_param() {
  return optional("loss", kStr, Value("unsupervised"))
      .one_of({"unsupervised", "supervised"})
      .doc("the common space's contrastive loss: eq. 7 (unsupervised) or eq. 8 (supervised)");
}

}  // namespace

// train(classifier, pairs, ...): the images and labels train the classifier as train() does on a
// dataset; with augment: a CMDA policy, each batch also carries its images' caption latents
// (the teacher modality), and a policy without a space gets one learnt on these pairs first.
Value train_classifier_on_pairs(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel);
  const PairedDataset& pairs = pairs_arg(args, "data");
  Dataset data = labelled_images(pairs, args);
  if (args.get("method").kind() == Kind::kSchedule || args.has("schedule")) {
    args.fail("schedules (Meta, Curriculum) train on datasets; give the images as a dataset");
  }
  TrainOptions options = classifier_train_options(args);
  auto cmda = std::dynamic_pointer_cast<const CmdaPolicy>(options.augment);
  if (cmda && cmda->options().joint) {
    // eq. 9: the space (given, or a fresh cmda_space) learns along with the classifier; the
    // batches carry caption indices and the policy embeds them with the current space.
    SpaceOptions so;
    so.seed = options.seed;
    TwoTowerPtr space = cmda->space() ? cmda->space() : make_cmda_space(pairs, so);
    options.augment = cmda->joint_with(
        space, std::make_shared<const std::vector<std::string>>(pairs.all_captions()));
    data.teacher = caption_indices(pairs);
  } else if (cmda) {
    TwoTowerPtr space = cmda->space() ? cmda->space() : default_space(pairs, options.seed);
    options.augment = cmda->with_space(space);
    data.teacher = caption_latents(*space, pairs);
  }
  train(*model->model, data, options);
  return Value(ObjectPtr(model));
}

void register_cmda_builtins(BuiltinTable& t) {
  const std::string g = "cmda";
  const Kinds kData = Kind::kDataset | Kind::kPairs;
  t.add({"CMDA", "policies",
         Signature{{optional("teacher", kStr, Value("text")), optional("clusters", kNum, Value(2)),
                    optional("space", Kind::kModel | Kind::kNone, Value()),
                    optional("p", kNum, Value(0.5)), optional("samples", kNum, Value(0)),
                    optional("cluster_on", kStr, Value("teacher")),
                    optional("joint", bits(Kind::kBool), Value(false)),
                    optional("lambda", kNum, Value(0.1)), optional("lr", kNum, Value(0.01)),
                    optional("tau", kNum, Value(0.1)), cmda_loss_param()}}
             .returning(bits(Kind::kPolicy)),
         "Cross-modal Data Augmentation (eq. 10-11, Algorithm 1): with chance p an image becomes "
         "a raw-space interpolation of its batch, weighted by caption-image latent dot products "
         "times GMM intra-modal weights (clusters M; 0 = by BIC); needs paired data in train(); "
         "joint: true learns the space with the task (eq. 9, lambda).",
         "policy cm = CMDA(teacher: \"text\", clusters: 2)", cmda_policy});
  t.add({"cmda_space", g,
         Signature{{required("data", bits(Kind::kPairs)), optional("dim", kNum, Value(32)),
                    optional("hidden", kNum, Value(256)), optional("epochs", kNum, Value(5)),
                    optional("batch", kNum, Value(128)), optional("lr", kNum, Value(0.001)),
                    optional("tau", kNum, Value(0.1)), cmda_loss_param(),
                    optional_auto("seed", kNum, "from --seed")}}
             .returning(bits(Kind::kModel)),
         "A two-tower common latent space (MLP image tower, bag-of-words text tower) learnt "
         "offline on paired data by the multi-modal contrastive loss, eq. 7 (\"unsupervised\") "
         "or eq. 8 (\"supervised\", by class).",
         "let m = cmda_space(fashion_captions(limit: 200), epochs: 1)", cmda_space});
  t.add({"gmm_select", g,
         Signature{{required("x", Kind::kTensor | Kind::kPairs), optional("max", kNum, Value(6)),
                    optional("space", Kind::kModel | Kind::kNone, Value()),
                    optional_auto("seed", kNum, "from --seed")}}
             .returning(bits(Kind::kRecord)),
         "Gaussian mixtures (diagonal, EM: 100 iterations, tol 1e-3, reg 1e-6) with M = 1..max "
         "on points [N, d] (or paired data's caption latents in space:): {m, aic, bic, "
         "log_likelihood, best} (best = lowest BIC).",
         "let g = gmm_select(randn([200, 2]), max: 3)", gmm_select_of});
  t.add(
      {"auroc", g,
       Signature{{required("scores", bits(Kind::kTensor)), required("labels", bits(Kind::kTensor))}}
           .returning(kNum),
       "Area under the ROC curve of scores (higher = more abnormal) against labels (1 = "
       "abnormal), ties counting one half (sklearn's roc_auc_score).",
       "print(auroc(tensor([0.1, 0.8, 0.4]), tensor([0, 1, 0])))",
       [](CallArgs& a) { return Value(auroc(a.tensor("scores"), a.tensor("labels"))); }});
  t.add(
      {"aupr", g,
       Signature{{required("scores", bits(Kind::kTensor)), required("labels", bits(Kind::kTensor))}}
           .returning(kNum),
       "Average precision of scores (higher = more abnormal) against labels (1 = abnormal), "
       "as sklearn's average_precision_score.",
       "print(aupr(tensor([0.1, 0.8, 0.4]), tensor([0, 1, 0])))",
       [](CallArgs& a) { return Value(aupr(a.tensor("scores"), a.tensor("labels"))); }});
  t.add({"anomaly_scores", g,
         Signature{{required("model", bits(Kind::kModel)), required("normal", kData),
                    required("test", kData | Kind::kTensor),
                    optional("classes", bits(Kind::kBool), Value(true)),
                    optional("batch", kNum, Value(256))}}
             .returning(bits(Kind::kTensor)),
         "SSD-style anomaly scores of the test images: Mahalanobis distance of the model's "
         "(L2-normalised) outputs to the normal data's class means (one mean with classes: "
         "false) under their pooled covariance; higher = more abnormal.",
         "let s = anomaly_scores(features(zoo.small_cnn(classes: 3)),\n"
         "                       keep_classes(fashion_mnist(limit: 100), classes: [0, 1, 2]),\n"
         "                       fashion_mnist(split: \"test\", limit: 50))",
         anomaly_scores_of});
  t.add({"anomaly_labels", g,
         Signature{{required("labels", bits(Kind::kTensor)), required("normal", bits(Kind::kList))}}
             .returning(bits(Kind::kTensor)),
         "1 where a class label is not one of the normal classes (abnormal), else 0.",
         "let ab = anomaly_labels(fashion_mnist(split: \"test\", limit: 50).y, normal: [0, 1, 2])",
         anomaly_labels_of});
  t.add({"keep_classes", g,
         Signature{{required("data", kData), required("classes", bits(Kind::kList)),
                    optional("relabel", bits(Kind::kBool), Value(true))}}
             .returning(kData),
         "The samples (images with their captions, for paired data) of the listed classes; "
         "relabel: true numbers them 0, 1, ... in the order listed.",
         "let normal = keep_classes(fashion_mnist(limit: 100), classes: [0, 2, 4])",
         keep_classes_of});
  t.add({"mean_ci", g,
         Signature{{required("values", bits(Kind::kList))}}.returning(bits(Kind::kRecord)),
         "{mean, ci, n}: the mean and the half-width of its 95% confidence interval (Student's "
         "t, as the ± of the CMDA paper's tables).",
         "print(mean_ci([0.81, 0.84, 0.79]))", mean_ci_of});
  t.add({"anomaly_table", g,
         Signature{{required("rows", bits(Kind::kList))}}.returning(bits(Kind::kString)),
         "The CMDA paper's Table I layout: a line per row {method, auroc: [...], aupr: [...]} "
         "with each metric as mean ± 95% CI (over tasks or seeds), in percent.",
         "print(anomaly_table([{method: \"Base\", auroc: [0.8, 0.82], aupr: [0.9, 0.91]}]))",
         anomaly_table_of});
}

}  // namespace perturb::lang
