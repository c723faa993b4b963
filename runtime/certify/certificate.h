// The result of certifying a dataset: one row per input (LANGUAGE.md §3's certificate).
// Randomized smoothing fills it (runtime/certify/smoothing.h); any method that gives each input
// a prediction and a certified radius (bound propagation: radius eps when verified) can too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/report/plot.h"

namespace perturb {

struct CertificateRow {
  int64_t idx = 0;         // position in the certified dataset
  int64_t label = 0;       // true class
  int64_t prediction = 0;  // kAbstain when the method abstained
  double radius = 0;       // certified radius (0 on abstention)
  bool correct = false;    // prediction == label (false on abstention)
  double seconds = 0;      // wall time spent on this input
  int64_t samples = 0;     // noisy forward passes spent on this input (0 for deterministic methods)
};

struct Certificate {
  static constexpr int64_t kAbstain = -1;

  std::string method;  // "Smooth(sigma: 0.25)", shown when printed and in the JSON
  std::string norm;    // the norm of the radius: "l2" for Gaussian smoothing
  double alpha = 0;    // failure probability of each certificate (0 for exact methods)
  // The settings that produced it, for the JSON (key → number), in order.
  std::vector<std::pair<std::string, double>> settings;
  std::vector<CertificateRow> rows;

  int64_t size() const { return static_cast<int64_t>(rows.size()); }
  // Fraction of inputs the method abstained on.
  double abstain() const;
  // Certified accuracy at radius r: the fraction of inputs predicted correctly with a certified
  // radius of at least r (Cohen et al. 2019, §4 "approximate certified accuracy"). At r = 0 it
  // is the accuracy of the (smoothed) classifier counting abstentions as wrong.
  double accuracy_at(double r) const;
  std::vector<double> accuracy_at(const std::vector<double>& radii) const;
  // Noisy samples spent over all inputs.
  int64_t total_samples() const;
  // The certified-accuracy curve as a step series: at each distinct radius the accuracy drops.
  PlotSeries curve(const std::string& label) const;

  // {"method":..,"norm":..,"alpha":..,"settings":{..},"samples":N,"abstain":..,
  //  "accuracy_at":{"0":..,"0.25":..,"0.5":..},
  //  "rows":[{"idx":..,"label":..,"predict":..,"radius":..,"correct":..,"time":..,"samples":..}]}
  std::string json() const;
  // The reference's tab-separated file (locuslab/smoothing certify.py):
  // idx label predict radius correct time, then our samples column; predict -1 = abstain.
  std::string tsv() const;
  // The same columns as CSV (RFC 4180) for pandas.read_csv, the radius and time in full.
  std::string csv() const;
  // Writes JSON, or TSV or CSV when the path ends in ".tsv" or ".csv", atomically. IoError
  // naming the path.
  void save(const std::string& path) const;
  // Summary for print(): method, inputs, abstentions, certified accuracy at a few radii and
  // the noisy samples spent (when any).
  std::string describe() const;
};

// Certified accuracy against radius for one or more certificates on one set of axes, as PNG.
// Labels default to each certificate's method. Error when a list is empty or labels mismatch.
void plot_certificates(const std::string& path, const std::vector<const Certificate*>& certs,
                       std::vector<std::string> labels = {}, const std::string& title = "");

}  // namespace perturb
