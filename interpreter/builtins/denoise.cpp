// Denoised and black-box smoothing (thesis ch. 6): zoo.dncnn, zoo.rdunet,
// zoo.autoencoder, train_denoiser, and `den >> classifier`. runtime/model/denoiser.h and
// denoiser_train.h have the algorithms; docs/certify.md ("Denoised smoothing") the semantics.

#include "interpreter/builtins/denoise.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/train.h"
#include "interpreter/eval.h"
#include "runtime/certify/denoiser_train.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/denoiser.h"
#include "runtime/model/zoo.h"

namespace perturb::lang {

std::optional<Value> compose_models(BinaryOp op, const Value& left, const Value& right,
                                    const Span& /*at*/) {
  if (op != BinaryOp::kThen) return std::nullopt;
  auto a = left.object<ModelObject>(), b = right.object<ModelObject>();
  if (!a || !b) return std::nullopt;
  return Value(ObjectPtr(
      std::make_shared<ModelObject>(std::make_shared<ComposedModel>(a->model, b->model))));
}

namespace {

const Kinds kNum = bits(Kind::kNumber);

BuiltinImpl denoiser_constructor(const std::string& base, std::vector<std::string> sizes) {
  return [base, sizes](CallArgs& args) -> Value {
    ZooOptions options;
    options.channels = args.integer("channels");
    options.height = options.width = args.integer("size");
    std::map<std::string, int64_t> values;
    for (const auto& s : sizes) values[s] = args.integer(s);
    uint64_t seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed"))
                                     : next_seed(args.interp.generator());
    ModelPtr model;
    try {
      model = make_zoo_model(denoiser_architecture(base, values), options, seed);
    } catch (const Error& e) {
      args.fail(e.what());
    }
    model->to(args.interp.device());
    return Value(ObjectPtr(std::make_shared<ModelObject>(model)));
  };
}

Value train_denoiser_value(CallArgs& args) {
  auto den = args.object<ModelObject>("denoiser", Kind::kModel);
  ModelPtr classifier;
  if (args.has("classifier"))
    classifier = args.object<ModelObject>("classifier", Kind::kModel)->model;
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data.in_memory();
  DenoiserTrainOptions o;
  o.sigma = args.number("sigma");
  o.loss = args.string("loss");
  o.lambda_cs = args.number("lambda_cs");
  o.lambda_mmd = args.number("lambda_mmd");
  o.epochs = args.integer("epochs");
  o.batch = args.integer("batch");
  if (args.has("optimizer"))
    o.optimizer = args.object<OptimizerObject>("optimizer", Kind::kOptimizer)->spec;
  o.seed = args.seed();
  o.zo = args.string("zo");
  o.q = args.integer("q");
  o.xi = args.number("xi");
  if (args.has("autoencoder"))
    o.autoencoder = args.object<ModelObject>("autoencoder", Kind::kModel)->model;
  DenoiserTrainResult r;
  try {
    r = train_denoiser(*den->model, classifier.get(), data, o);
  } catch (const Error& e) {
    args.fail(e.what());
  }
  std::vector<Value> losses;
  for (double l : r.losses) losses.emplace_back(l);
  auto record = std::make_shared<Record>();
  record->set("model", Value(ObjectPtr(den)));
  record->set("loss", make_list(std::move(losses)));
  record->set("queries", Value(r.queries));
  return Value(record);
}

}  // namespace

void register_denoise_builtins(BuiltinTable& t) {
  const std::string g = "certification";
  struct Arch {
    std::string base, doc;
    std::vector<std::pair<std::string, int64_t>> sizes;
  };
  const std::vector<Arch> archs = {
      {"dncnn",
       "DnCNN denoiser (Zhang et al. 2017): conv+ReLU, depth−2 conv+BN+ReLU, conv; returns the "
       "input minus the predicted noise.",
       {{"depth", 17}, {"width", 64}}},
      {"rdunet",
       "The thesis's robust UNet denoiser RDUNet (Figure 6.2): DConv blocks with max pooling down "
       "`levels` times, ConvTranspose2d up with fusion of the lateral features, a 1×1 conv giving "
       "the residual map; returns x* − dx̂.",
       {{"levels", 4}, {"width", 16}}},
      {"autoencoder",
       "A convolutional autoencoder with a `code`-dimensional code (ZO-AE: train_denoiser's "
       "autoencoder:).",
       {{"code", 64}}}};
  for (const auto& a : archs) {
    std::vector<ParamSpec> params = {optional("channels", kNum, Value(1)),
                                     optional("size", kNum, Value(28))};
    std::vector<std::string> names;
    for (const auto& [name, value] : a.sizes) {
      params.push_back(optional(name, kNum, Value(value)));
      names.push_back(name);
    }
    params.push_back(optional_auto("seed", kNum, "from --seed"));
    t.add({"zoo." + a.base, "models", Signature{params}.returning(bits(Kind::kModel)), a.doc,
           "zoo." + a.base + "(channels: 1, size: 28)", denoiser_constructor(a.base, names)});
  }
  t.add(
      {"train_denoiser", g,
       Signature{{required("denoiser", bits(Kind::kModel)),
                  required("classifier", Kind::kModel | Kind::kNone),
                  required("data", bits(Kind::kDataset)), optional("sigma", kNum, Value(0.25)),
                  optional("loss", bits(Kind::kString), Value("mse")),
                  optional("lambda_cs", kNum, Value(1.0)), optional("lambda_mmd", kNum, Value(1.0)),
                  optional("epochs", kNum, Value(1)), optional("batch", kNum, Value(64)),
                  optional_auto("optimizer", bits(Kind::kOptimizer), "Adam(lr: 0.001)"),
                  optional_auto("seed", kNum, "from --seed"),
                  optional("zo", bits(Kind::kString), Value("")), optional("q", kNum, Value(20)),
                  optional("xi", kNum, Value(0.005)),
                  optional("autoencoder", Kind::kModel | Kind::kNone, Value())}}
           .returning(bits(Kind::kRecord)),
       "Trains a denoiser in place on x + N(0, sigma²) in front of a fixed classifier; loss "
       "\"mse\", \"stability\" (Salman et al. 2020) or \"rdunet\" (thesis eq. 6.13: CE + "
       "lambda_cs·cosine + lambda_mmd·MMD). zo: \"rge\" (q directions) or \"cge\" treats the "
       "classifier as a black box (eqs. 6.15–6.16, 6.19); autoencoder: estimates in its code "
       "(ZO-AE). Returns {model, loss (per epoch), queries}.",
       "train_denoiser(zoo.dncnn(depth: 5), net, train_set, sigma: 0.25, loss: \"stability\")",
       train_denoiser_value});
}

}  // namespace perturb::lang
