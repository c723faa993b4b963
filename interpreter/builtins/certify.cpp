// Certification (LANGUAGE.md §3): Smooth, certify, predict, certificates and plot.
// Randomized smoothing follows Cohen et al. 2019 (runtime/certify/smoothing.h); docs/certify.md.

#include <algorithm>

#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/certify.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/table.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "runtime/core/random.h"
#include "runtime/report/format.h"
#include "runtime/report/plot.h"

namespace perturb::lang {

// ---- objects ----

std::string SmoothObject::describe() const {
  SmoothOptions options;
  options.sigma = sigma;
  return describe_smoothing(options);
}

std::optional<Value> SmoothObject::field(const std::string& name) const {
  if (name == "sigma") return Value(sigma);
  return std::nullopt;
}

namespace {

const Kinds kNum = bits(Kind::kNumber);

std::vector<double> numbers_of(CallArgs& args, const std::string& name) {
  std::vector<double> out;
  for (const Value& v : *args.get(name).as<ListPtr>()) {
    if (!v.is<double>())
      args.fail_at(
          name, name + " must be a list of numbers, got " + kind_with_article(v.kind()) + " in it");
    out.push_back(v.as<double>());
  }
  return out;
}

at::Generator generator_for(CallArgs& args) {
  if (args.has("seed")) return make_generator(static_cast<uint64_t>(args.integer("seed")));
  return args.interp.generator();
}

// The sampling options of certify and predict, checked at the argument that is wrong.
SmoothOptions smooth_options(CallArgs& args, double sigma) {
  SmoothOptions o;
  o.sigma = sigma;
  if (args.builtin.name == "certify") o.n0 = args.integer("n0");
  o.n = args.integer("n");
  o.batch = args.integer("batch");
  o.alpha = args.number("alpha");
  if (args.builtin.name == "certify") {
    o.sequential = args.boolean("sequential");
    if (args.has("radii")) {
      if (!o.sequential) args.fail_at("radii", "radii: are the decision radii of sequential: true");
      o.radii = numbers_of(args, "radii");
      for (double r : o.radii)
        if (!(r >= 0)) args.fail_at("radii", "radii must be non-negative, got " + format_number(r));
    }
  }
  return o;
}

Value tensor_of(const std::vector<CertificateRow>& rows, torch::ScalarType type,
                const std::function<double(const CertificateRow&)>& get) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(rows.size())}, torch::kFloat64);
  auto a = t.accessor<double, 1>();
  for (size_t i = 0; i < rows.size(); ++i) a[static_cast<int64_t>(i)] = get(rows[i]);
  return Value(t.to(type));
}

}  // namespace

Certificate SmoothObject::certify(Model& model, const Dataset& data, CallArgs& args) const {
  at::Generator gen = generator_for(args);
  SmoothOptions options = smooth_options(args, sigma);
  if (args.has("out")) options.rows_path = args.string("out");
  return certify_smoothed(model, data, options, gen);
}

std::optional<Value> CertificateObject::field(const std::string& name) const {
  const auto& rows = cert.rows;
  if (name == "radius")
    return tensor_of(rows, torch::kFloat64, [](const CertificateRow& r) { return r.radius; });
  if (name == "correct")
    return tensor_of(rows, torch::kBool, [](const CertificateRow& r) { return r.correct; });
  if (name == "predict")
    return tensor_of(rows, torch::kInt64,
                     [](const CertificateRow& r) { return static_cast<double>(r.prediction); });
  if (name == "label")
    return tensor_of(rows, torch::kInt64,
                     [](const CertificateRow& r) { return static_cast<double>(r.label); });
  if (name == "samples")
    return tensor_of(rows, torch::kInt64,
                     [](const CertificateRow& r) { return static_cast<double>(r.samples); });
  if (name == "time")
    return tensor_of(rows, torch::kFloat64, [](const CertificateRow& r) { return r.seconds; });
  if (name == "abstain") return Value(cert.abstain());
  if (name == "method") return Value(cert.method);
  return std::nullopt;
}

namespace {

// JSON, or TSV for a ".tsv" path, CSV for a ".csv" one.
bool save_certificate(const Value& value, const std::string& path) {
  value.object<CertificateObject>()->cert.save(path);
  return true;
}

Value certify_value(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data;
  auto method = args.get("method").object<CertifyMethodObject>();
  if (!method) args.fail_kind("method", Kind::kSmoothing);
  if (data.size() == 0) args.fail_at("data", "certify got an empty dataset");
  return Value(ObjectPtr(std::make_shared<CertificateObject>(method->certify(*model, data, args))));
}

Value predict_value(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  auto smooth = args.object<SmoothObject>("method", Kind::kSmoothing);
  torch::Tensor x;
  if (auto data = args.get("data").object<DatasetObject>()) {
    x = data->data.in_memory().x;
  } else {
    x = args.tensor("data");
  }
  at::Generator gen = generator_for(args);
  return Value(predict_smoothed(*model, x, smooth_options(args, smooth->sigma), gen));
}

Value accuracy_at_value(CallArgs& args) {
  const Certificate& cert = args.object<CertificateObject>("self", Kind::kCertificate)->cert;
  const Value& radii = args.get("radii");
  if (radii.is<double>()) return Value(cert.accuracy_at(radii.as<double>()));
  std::vector<Value> out;
  for (double r : numbers_of(args, "radii")) out.push_back(Value(cert.accuracy_at(r)));
  return make_list(std::move(out));
}

std::vector<double> list_numbers(const Value& v, CallArgs& args, const std::string& what) {
  if (!v.is<ListPtr>())
    throw_runtime_error(args.span_of("value"),
                        what + " must be a list of numbers, got " + kind_with_article(v.kind()));
  std::vector<double> out;
  for (const Value& item : *v.as<ListPtr>()) {
    if (!item.is<double>())
      throw_runtime_error(args.span_of("value"), what + " must be a list of numbers, got " +
                                                     kind_with_article(item.kind()) + " in it");
    out.push_back(item.as<double>());
  }
  return out;
}

std::vector<std::string> labels_of(CallArgs& args) {
  std::vector<std::string> labels;
  if (!args.has("labels")) return labels;
  for (const Value& v : *args.get("labels").as<ListPtr>()) {
    if (!v.is<std::string>())
      throw_runtime_error(args.span_of("labels"), "labels must be a list of strings");
    labels.push_back(v.as<std::string>());
  }
  return labels;
}

[[noreturn]] void cannot_plot(const Value& value, CallArgs& args) {
  throw_runtime_error(args.span_of("value"),
                      "plot draws a certificate, a list of certificates or a record of series, "
                      "got " +
                          kind_with_article(value.kind()));
}

// The sampling parameters certify and predict share (smooth_options reads them).
ParamSpec samples_param() {
  return optional("n", kNum, Value(100000))
      .whole()
      .at_least(1)
      .doc("noisy samples that bound the top class's probability");
}

ParamSpec alpha_param() {
  return optional("alpha", kNum, Value(0.001))
      .above(0)
      .below(1)
      .doc("the answer is wrong with probability at most alpha");
}

ParamSpec batch_param() {
  return optional("batch", kNum, Value(1000))
      .whole()
      .at_least(1)
      .doc("noisy samples per forward pass");
}

std::string title_of(CallArgs& args) {
  return args.has("title") ? args.string("title") : "";
}

// Accuracy against eps of a report of evaluate(..., eps: [...]) (runtime/eval).
void plot_report(const Value& value, CallArgs& args) {
  auto object = value.object<ReportObject>();
  if (!object) cannot_plot(value, args);  // an ITR table
  const EvalReport& report = object->report;
  if (!report.is_sweep())
    throw_runtime_error(args.span_of("value"),
                        "plot draws a report of evaluate(..., eps: [...]); this report has one "
                        "threat size");
  plot_sweep(report, args.string("path"), title_of(args));
}

// Certified accuracy against radius, a line per certificate.
void draw_certificates(const std::vector<const Certificate*>& certs, CallArgs& args) {
  std::vector<std::string> labels = labels_of(args);
  if (!labels.empty() && labels.size() != certs.size())
    throw_runtime_error(args.span_of("labels"), "plot got " + std::to_string(labels.size()) +
                                                    " labels for " + std::to_string(certs.size()) +
                                                    " certificates");
  plot_certificates(args.string("path"), certs, labels, title_of(args));
}

void plot_certificate(const Value& value, CallArgs& args) {
  draw_certificates({&value.object<CertificateObject>()->cert}, args);
}

void plot_certificate_list(const Value& value, CallArgs& args) {
  std::vector<const Certificate*> certs;
  for (const Value& item : *value.as<ListPtr>()) {
    auto c = item.object<CertificateObject>();
    if (!c)
      throw_runtime_error(args.span_of("value"), "plot draws a list of certificates, got " +
                                                     kind_with_article(item.kind()) +
                                                     " in the list");
    certs.push_back(&c->cert);  // the list keeps the certificate alive
  }
  if (certs.empty()) throw_runtime_error(args.span_of("value"), "plot got an empty list");
  draw_certificates(certs, args);
}

// {x: [...], name: [...], ...}: one series per field other than x (an accuracy-vs-eps sweep, for
// instance).
void plot_record(const Value& value, CallArgs& args) {
  const Record& rec = *value.as<RecordPtr>();
  const Value* xs = rec.find("x");
  if (!xs)
    throw_runtime_error(args.span_of("value"),
                        "plot of a record needs a field x (the horizontal axis) and one field "
                        "per series, e.g. {x: [0, 0.1], pgd: [0.9, 0.4]}");
  const std::vector<double> x = list_numbers(*xs, args, "x");
  std::vector<PlotSeries> series;
  for (const auto& [key, field] : rec.fields) {
    if (key == "x") continue;
    PlotSeries s;
    s.label = key;
    s.x = x;
    s.y = list_numbers(field, args, "series " + key);
    s.markers = true;
    if (s.y.size() != x.size())
      throw_runtime_error(args.span_of("value"), "series " + key + " has " +
                                                     std::to_string(s.y.size()) + " values for " +
                                                     std::to_string(x.size()) + " x values");
    series.push_back(std::move(s));
  }
  if (series.empty())
    throw_runtime_error(args.span_of("value"), "plot of a record needs a series besides x");
  std::vector<std::string> labels = labels_of(args);
  if (!labels.empty()) {
    if (labels.size() != series.size())
      throw_runtime_error(args.span_of("labels"), "plot got " + std::to_string(labels.size()) +
                                                      " labels for " +
                                                      std::to_string(series.size()) + " series");
    for (size_t i = 0; i < series.size(); ++i) series[i].label = labels[i];
  }
  PlotOptions options;
  options.title = title_of(args);
  options.x_label = args.has("xlabel") ? args.string("xlabel") : "x";
  options.y_label = args.has("ylabel") ? args.string("ylabel") : "";
  write_line_plot(args.string("path"), series, options);
}

// plot(value, path, ...) draws what the value's kind says (the hooks above).
Value plot_value(CallArgs& args) {
  const Value& value = args.get("value");
  labels_of(args);  // a wrong label is reported before anything about the value
  const auto& plot = descriptor_of(value.kind()).plot;
  if (!plot) cannot_plot(value, args);
  plot(value, args);
  args.interp.image_written(args.string("path"));
  return Value();
}

}  // namespace

void describe_certify_kinds(KindRegistry& registry) {
  const Kinds kTensor = bits(Kind::kTensor);
  KindDescriptor certificate(Kind::kCertificate, "certificate", "a certificate");
  certificate.fields = {
      {"radius", kTensor, "Each input's certified radius (0 where it abstains or is wrong)."},
      {"correct", kTensor, "Whether each prediction is the label."},
      {"abstain", bits(Kind::kNumber), "The fraction of inputs it abstains on."},
      {"predict", kTensor, "Each input's prediction (-1 where it abstains)."},
      {"label", kTensor, "Each input's label."},
      {"samples", kTensor, "The noise samples each input took."},
      {"time", kTensor, "The seconds each input took."},
      {"method", bits(Kind::kString), "The certification method, as it prints."}};
  certificate.fields_known = true;
  certificate.save = save_certificate;
  certificate.plot = plot_certificate;
  registry.add(std::move(certificate));

  KindDescriptor smoothing(Kind::kSmoothing, "smoothing", "a smoothing");
  smoothing.fields = {{"sigma", bits(Kind::kNumber), "The noise's standard deviation."}};
  registry.add(std::move(smoothing));

  // plot is this area's builtin: it draws reports, lists of certificates and records too.
  registry.at(Kind::kReport).plot = plot_report;
  registry.at(Kind::kList).plot = plot_certificate_list;
  registry.at(Kind::kRecord).plot = plot_record;
}

void register_certify_builtins(BuiltinTable& t) {
  const std::string g = "certification";
  t.add({"Smooth", g,
         Signature{{required("sigma", kNum).above(0).doc("the noise's standard deviation")}}
             .returning(bits(Kind::kSmoothing)),
         "Randomized smoothing with Gaussian noise N(0, sigma^2) added to the input (Cohen et al. "
         "2019).",
         "Smooth(sigma: 0.25)", [](CallArgs& a) {
           return Value(ObjectPtr(std::make_shared<SmoothObject>(a.number("sigma"))));
         }});
  t.add({"certify", g,
         Signature{{required("model", bits(Kind::kModel)), required("data", bits(Kind::kDataset)),
                    required("method", kCertifyMethodKinds),
                    optional("n0", kNum, Value(100))
                        .whole()
                        .at_least(1)
                        .doc("noisy samples that pick the top class"),
                    samples_param(), alpha_param(), batch_param(),
                    optional("sequential", bits(Kind::kBool), Value(false)),
                    optional_auto("radii", bits(Kind::kList), "0 to 2·sigma by sigma/4"),
                    optional_auto("seed", kNum, "from --seed"),
                    optional("out", bits(Kind::kString), Value())
                        .doc("a TSV file that gets each row as it is certified; a stopped run "
                             "keeps its rows there and a rerun continues after them")}}
             .returning(bits(Kind::kCertificate)),
         "Certified radii by Cohen et al.'s CERTIFY: the top class from n0 noisy samples, its "
         "count in n more, a Clopper-Pearson lower bound at 1 - alpha; sequential: true stops "
         "early once a confidence sequence settles each radius in radii.",
         "certify(net, test_set.take(100), Smooth(sigma: 0.25), n0: 100, n: 10000)",
         certify_value});
  t.add({"predict", g,
         Signature{{required("model", bits(Kind::kModel)),
                    required("data", Kind::kDataset | Kind::kTensor),
                    required("method", bits(Kind::kSmoothing)), samples_param(), alpha_param(),
                    batch_param(), optional_auto("seed", kNum, "from --seed")}}
             .returning(bits(Kind::kTensor)),
         "The smoothed classifier's prediction by Cohen et al.'s PREDICT (-1 where the binomial "
         "test of the top two counts abstains).",
         "predict(net, test_set.take(10), Smooth(sigma: 0.25), n: 1000)", predict_value});
  t.add({"certificate.accuracy_at", g,
         Signature{{required("self", bits(Kind::kCertificate)),
                    required("radii", Kind::kList | Kind::kNumber)}}
             .returning(Kind::kList | Kind::kNumber),
         "Certified accuracy at each radius: the fraction of inputs predicted correctly with a "
         "certified radius of at least r.",
         "cert.accuracy_at([0, 0.25, 0.5])", accuracy_at_value});
  t.add({"plot", g,
         Signature{
             {required("value", Kind::kCertificate | Kind::kList | Kind::kRecord | Kind::kReport),
              required("path", bits(Kind::kString)), optional("labels", bits(Kind::kList), Value()),
              optional("title", bits(Kind::kString), Value()),
              optional("xlabel", bits(Kind::kString), Value()),
              optional("ylabel", bits(Kind::kString), Value())}}
             .returning(bits(Kind::kNone)),
         "Draws certified accuracy against radius for one or more certificates, a record "
         "{x: [...], name: [...], ...} as one line per field besides x, or accuracy against eps of "
         "an evaluate(..., eps: "
         "[...]) report, to a PNG (written atomically).",
         "plot(cert, \"runs/certified.png\")", plot_value});
}

}  // namespace perturb::lang
