#include "runtime/certify/smoothing.h"

#include <algorithm>
#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "runtime/certify/row_log.h"
#include "runtime/certify/sequential.h"
#include "runtime/core/error.h"
#include "runtime/core/interrupt.h"
#include "runtime/core/random.h"
#include "runtime/data/batch_loader.h"
#include "runtime/distributed/share.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t argmax_first(const std::vector<int64_t>& counts) {
  // The first of equal maxima, as numpy's argmax in the reference.
  return static_cast<int64_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

// Sequential estimation: count c_A in fresh samples up to each look of the confidence sequence
// and stop once every decision radius is settled (sequential.h).
SmoothResult estimate_sequential(NoiseCounter& counter, const torch::Tensor& x, int64_t c_a,
                                 const SmoothOptions& options, SmoothResult result) {
  const ConfidenceSequence cs(options.n, options.alpha, std::min(options.first_look, options.n));
  const std::vector<double> radii =
      options.radii.empty() ? default_sequential_radii(options.sigma) : options.radii;
  std::vector<double> thresholds;  // p_A lower bound needed for radius r: Phi(r / sigma)
  for (double r : radii) thresholds.push_back(normal_cdf(r / options.sigma));
  int64_t drawn = 0, n_a = 0;
  double lower = 0;
  for (int64_t look : cs.looks()) {
    n_a += counter.counts(x, look - drawn)[c_a];
    drawn = look;
    lower = cs.lower(n_a, drawn);
    if (settles(lower, cs.upper(n_a, drawn), thresholds)) break;
  }
  result.samples += drawn;
  result.count = n_a;
  result.p_lower = lower;
  if (lower >= 0.5) {
    result.prediction = c_a;
    result.radius = options.sigma * normal_quantile(lower);
  }
  return result;
}

}  // namespace

void check_smooth_options(const SmoothOptions& o) {
  if (!(o.sigma > 0) || !std::isfinite(o.sigma))
    throw Error("Smooth's sigma must be a positive number, got " + format_number(o.sigma));
  if (!(o.alpha > 0 && o.alpha < 1))
    throw Error("alpha must be between 0 and 1 (exclusive), got " + format_number(o.alpha));
  if (o.n0 < 1) throw Error("n0 must be at least 1, got " + std::to_string(o.n0));
  if (o.n < 1) throw Error("n must be at least 1, got " + std::to_string(o.n));
  if (o.batch < 1) throw Error("batch must be at least 1, got " + std::to_string(o.batch));
  if (o.first_look < 1)
    throw Error("the first sequential look must be at least 1, got " +
                std::to_string(o.first_look));
  for (double r : o.radii) {
    if (!(r >= 0) || !std::isfinite(r))
      throw Error("sequential radii must be non-negative numbers, got " + format_number(r));
  }
}

double clopper_pearson_lower(int64_t k, int64_t n, double alpha) {
  if (k <= 0) return 0;
  if (k > n)
    throw Error("clopper_pearson_lower: " + std::to_string(k) + " successes in " +
                std::to_string(n) + " trials");
  boost::math::beta_distribution<double> dist(static_cast<double>(k),
                                              static_cast<double>(n - k + 1));
  return boost::math::quantile(dist, alpha);
}

double clopper_pearson_upper(int64_t k, int64_t n, double alpha) {
  if (k >= n) return 1;
  if (k < 0) throw Error("clopper_pearson_upper: negative successes");
  boost::math::beta_distribution<double> dist(static_cast<double>(k + 1),
                                              static_cast<double>(n - k));
  return boost::math::quantile(dist, 1 - alpha);
}

double binomial_test_half(int64_t k, int64_t n) {
  if (n <= 0) return 1;
  const int64_t m = std::min(k, n - k);
  if (2 * m == n) return 1;
  boost::math::binomial_distribution<double> dist(static_cast<double>(n), 0.5);
  return std::min(1.0, 2 * boost::math::cdf(dist, static_cast<double>(m)));
}

double normal_quantile(double p) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), p);
}

double normal_cdf(double z) {
  return boost::math::cdf(boost::math::normal_distribution<double>(), z);
}

NoiseCounter::NoiseCounter(Model& model, double sigma, int64_t batch, at::Generator& gen)
    : model_(model), sigma_(sigma), batch_(batch), gen_(gen) {}

std::vector<int64_t> NoiseCounter::counts(const torch::Tensor& x, int64_t num) {
  c10::InferenceMode inference;
  const torch::Device device = model_.device();
  torch::Tensor input = x.to(device, torch::kFloat32).unsqueeze(0);
  const int64_t rows = std::min(batch_, num);
  if (!buffer_.defined() || buffer_.size(0) < rows ||
      buffer_.sizes().slice(1) != input.sizes().slice(1) || buffer_.device() != device) {
    std::vector<int64_t> shape = input.sizes().vec();
    shape[0] = rows;
    buffer_ = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  }
  torch::Tensor total;  // accumulated on the device: one copy to the host per call
  for (int64_t done = 0; done < num;) {
    const int64_t b = std::min(batch_, num - done);
    torch::Tensor noisy = buffer_.narrow(0, 0, b);
    noisy.normal_(0, sigma_, gen_);  // e ~ N(0, sigma^2 I), drawn on the model's device
    noisy.add_(input);
    torch::Tensor logits = model_.forward(noisy);
    if (logits.dim() != 2 || logits.size(0) != b)
      throw Error(
          "randomized smoothing needs a classifier giving one row of scores per input, "
          "got an output of shape " +
          format_shape(logits.sizes().vec()));
    if (classes_ < 0) classes_ = logits.size(1);
    torch::Tensor counts = torch::bincount(logits.argmax(1), {}, classes_);
    total = total.defined() ? total + counts : counts;
    done += b;
  }
  std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(classes_, 0)), 0);
  if (!total.defined()) return out;
  torch::Tensor host = total.to(torch::kCPU, torch::kInt64).contiguous();
  std::copy(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel(), out.begin());
  return out;
}

SmoothResult certify_input(NoiseCounter& counter, const torch::Tensor& x,
                           const SmoothOptions& options) {
  SmoothResult result;
  // Selection: guess the top class from n0 samples.
  const std::vector<int64_t> selection = counter.counts(x, options.n0);
  const int64_t c_a = argmax_first(selection);
  result.samples = options.n0;
  if (options.sequential) return estimate_sequential(counter, x, c_a, options, result);
  // Estimation: count c_A in n fresh samples; one-sided Clopper-Pearson lower bound on p_A.
  const std::vector<int64_t> estimation = counter.counts(x, options.n);
  result.samples += options.n;
  result.count = estimation[c_a];
  result.p_lower = clopper_pearson_lower(result.count, options.n, options.alpha);
  if (result.p_lower >= 0.5) {
    result.prediction = c_a;
    result.radius = options.sigma * normal_quantile(result.p_lower);  // Theorem 1: sigma Phi^-1(pA)
  }
  return result;
}

int64_t predict_input(NoiseCounter& counter, const torch::Tensor& x, int64_t n, double alpha) {
  const std::vector<int64_t> counts = counter.counts(x, n);
  // The top two classes (the first of equal counts ranks first).
  int64_t top = -1, second = -1;
  for (int64_t c = 0; c < static_cast<int64_t>(counts.size()); ++c) {
    if (top < 0 || counts[c] > counts[top]) {
      second = top;
      top = c;
    } else if (second < 0 || counts[c] > counts[second]) {
      second = c;
    }
  }
  const int64_t n_top = counts[top];
  const int64_t n_second = second < 0 ? 0 : counts[second];
  return binomial_test_half(n_top, n_top + n_second) > alpha ? Certificate::kAbstain : top;
}

namespace {

constexpr int kRowFields = 7;
// Inputs decoded at a time when the dataset streams (each takes n noisy forward passes, so a
// small part keeps the decoders just ahead).
constexpr int64_t kInputsPerLoad = 16;

// Certificate rows as float64 tensor rows, to gather them from the ranks (integers up to 2^53
// are exact).
torch::Tensor rows_tensor(const std::vector<CertificateRow>& rows) {
  auto t = torch::empty({static_cast<int64_t>(rows.size()), kRowFields}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    const CertificateRow& r = rows[i];
    const double fields[kRowFields] = {static_cast<double>(r.idx),
                                       static_cast<double>(r.label),
                                       static_cast<double>(r.prediction),
                                       r.radius,
                                       r.correct ? 1.0 : 0.0,
                                       r.seconds,
                                       static_cast<double>(r.samples)};
    for (int f = 0; f < kRowFields; ++f) a[static_cast<int64_t>(i)][f] = fields[f];
  }
  return t;
}

std::vector<CertificateRow> rows_from_tensor(const torch::Tensor& t) {
  std::vector<CertificateRow> rows(static_cast<size_t>(t.size(0)));
  auto a = t.accessor<double, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto r = a[static_cast<int64_t>(i)];
    rows[i] = {static_cast<int64_t>(r[0]),
               static_cast<int64_t>(r[1]),
               static_cast<int64_t>(r[2]),
               r[3],
               r[4] != 0,
               r[5],
               static_cast<int64_t>(r[6])};
  }
  return rows;
}

// Input i's noise comes from a stream keyed by (seed, i), not by the inputs before it: the same
// noise whichever rank certifies it (runtime/distributed/share.h).
void seed_for_input(at::Generator& noise_gen, uint64_t seed, int64_t i) {
  std::lock_guard<std::mutex> lock(noise_gen.mutex());
  noise_gen.set_current_seed(mix_seed(seed, static_cast<uint64_t>(i)));
}

// What certify's out: file must have been written for to be continued: the method, its
// settings, the noise seed and the number of inputs.
std::string row_log_settings(const Certificate& cert, uint64_t seed, int64_t inputs) {
  std::string text = cert.method;
  for (const auto& [name, value] : cert.settings) text += " " + name + "=" + format_number(value);
  return text + " seed=" + std::to_string(seed) + " inputs=" + std::to_string(inputs);
}

CertificateRow earlier_row(const CertificateRowLog& log, int64_t i, int64_t label) {
  const CertificateRow& row = log.done().at(i);
  if (row.label != label) {
    throw IoError("certify's out: file '" + log.path() + "' gives input " + std::to_string(i) +
                  " the label " + std::to_string(row.label) + ", the data " +
                  std::to_string(label) + ": it holds rows of other data");
  }
  return row;
}

Interrupted certify_interrupted(size_t finished, int64_t inputs,
                                const std::optional<CertificateRowLog>& log) {
  std::string message = "certify interrupted by " + interrupt_name() + " after " +
                        std::to_string(finished) + " of " + std::to_string(inputs) + " inputs";
  if (log) {
    return Interrupted(message + "; their rows are in " + log->path() +
                       ": run the script again to continue after them");
  }
  return Interrupted(message + "; give certify an out: file to keep the rows of a run that stops");
}

}  // namespace

Certificate certify_smoothed(Model& model, const Dataset& data, const SmoothOptions& options,
                             at::Generator& gen) {
  check_smooth_options(options);
  ModeGuard eval(model, /*training=*/false);
  const uint64_t seed = next_seed(gen);
  at::Generator noise_gen = make_generator(seed, model.device());
  NoiseCounter counter(model, options.sigma, options.batch, noise_gen);

  Certificate cert;
  cert.method = describe_smoothing(options);
  cert.norm = "l2";
  cert.alpha = options.alpha;
  cert.settings = {{"sigma", options.sigma},
                   {"n0", static_cast<double>(options.n0)},
                   {"n", static_cast<double>(options.n)},
                   {"alpha", options.alpha},
                   {"batch", static_cast<double>(options.batch)},
                   {"sequential", options.sequential ? 1.0 : 0.0}};
  const torch::Tensor labels = data.y.to(torch::kCPU, torch::kInt64);
  // Each rank certifies a contiguous share of the inputs; gathered in rank order, the rows are
  // in the dataset's order.
  const WorkShare share = WorkShare::of_process();
  const auto [begin, end] = share.rows(data.size());
  // A streaming dataset's next inputs are decoded while these are certified; an input its
  // source skips as unreadable gets no row.
  std::optional<CertificateRowLog> log;
  if (!options.rows_path.empty()) {
    const std::string path =
        options.rows_path + (share.distributed() ? ".rank" + std::to_string(share.rank) : "");
    log.emplace(path, row_log_settings(cert, seed, data.size()));
  }
  HonourInterrupts honour;
  BatchLoader loader(data.slice(begin, end).batches(kInputsPerLoad));
  std::vector<CertificateRow> rows;
  for (int64_t first = begin; first < end; first += kInputsPerLoad) {
    const LoadedBatch part = loader.next();
    const auto kept = part.kept.accessor<int64_t, 1>();
    for (int64_t j = 0; j < part.data.size(); ++j) {
      const int64_t i = first + kept[j];
      if (interrupt_requested()) throw certify_interrupted(rows.size(), end - begin, log);
      if (log && log->done().count(i)) {
        rows.push_back(earlier_row(*log, i, labels[i].item<int64_t>()));
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      seed_for_input(noise_gen, seed, i);
      const SmoothResult r = certify_input(counter, part.data.x[j], options);
      CertificateRow row;
      row.idx = i;
      row.label = labels[i].item<int64_t>();
      row.prediction = r.prediction;
      row.radius = r.radius;
      row.correct = r.prediction == row.label;
      row.samples = r.samples;
      row.seconds = seconds_since(start);
      if (log) log->append(row);
      rows.push_back(row);
    }
  }
  cert.rows = share.distributed() ? rows_from_tensor(gather_rows(rows_tensor(rows))) : rows;
  return cert;
}

torch::Tensor predict_smoothed(Model& model, const torch::Tensor& x, const SmoothOptions& options,
                               at::Generator& gen) {
  check_smooth_options(options);
  if (x.dim() < 2)
    throw Error("predict needs a batch of inputs (N×C×H×W), got shape " +
                format_shape(x.sizes().vec()));
  ModeGuard eval(model, /*training=*/false);
  const uint64_t seed = next_seed(gen);
  at::Generator noise_gen = make_generator(seed, model.device());
  NoiseCounter counter(model, options.sigma, options.batch, noise_gen);
  const auto [begin, end] = WorkShare::of_process().rows(x.size(0));
  torch::Tensor out = torch::empty({end - begin}, torch::kInt64);
  for (int64_t i = begin; i < end; ++i) {
    seed_for_input(noise_gen, seed, i);
    out[i - begin] = predict_input(counter, x[i], options.n, options.alpha);
  }
  return gather_rows(out);
}

std::string describe_smoothing(const SmoothOptions& options) {
  return "Smooth(sigma: " + format_number(options.sigma) + ")";
}

}  // namespace perturb
