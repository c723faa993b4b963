// The augmentation ops (physics review §3.1; LANGUAGE.md §2). Each factory validates its
// parameters (perturb::Error in the user's terms) and returns an immutable policy. A number
// parameter written as an Interval {v, v} is fixed; {lo, hi} is drawn uniformly per sample.
// `p` is the probability that the op is applied to each sample (independently per sample).
// Defaults and deviations from torchvision are listed in docs/augment.md.
#pragma once

#include <string>
#include <vector>

#include "runtime/augment/policy.h"
#include "runtime/threat/threat.h"

namespace perturb::augment {

// (In their own namespace: runtime/threat/physical.h has threat factories of the same names.)

// Geometric (bilinear sampling, uncovered pixels 0).
PolicyPtr make_flip(double p = 0.5);   // horizontal
PolicyPtr make_vflip(double p = 0.5);  // vertical
PolicyPtr make_rotate(Interval degrees, double p = 1);
// Shift by whole pixels: dx and dy each drawn from `pixels` and rounded (like RandomAffine).
PolicyPtr make_translate(Interval pixels, double p = 1);
PolicyPtr make_scale(Interval factor, double p = 1);  // zoom about the centre, > 0
// Zero padding by `padding` then a random H×W crop (RandomCrop(size, padding)).
PolicyPtr make_crop(int64_t padding = 4, double p = 1);
// RandomResizedCrop: a box of area fraction in `scale` and aspect ratio in `ratio` (log-uniform),
// resized back to H×W; after 10 failed tries the central box.
PolicyPtr make_resized_crop(Interval scale = {0.08, 1}, Interval ratio = {3.0 / 4, 4.0 / 3},
                            double p = 1);

// Colour and light (factors: 1 is the identity).
PolicyPtr make_brightness(Interval factor, double p = 1);
PolicyPtr make_contrast(Interval factor, double p = 1);
PolicyPtr make_saturation(Interval factor, double p = 1);  // identity on 1-channel images
PolicyPtr make_hue(Interval shift, double p = 1);          // shift in [-0.5, 0.5] turns
// ColorJitter(b, c, s, h): factors drawn from [max(0, 1-b), 1+b] etc., hue from [-h, h],
// the four applied in a random order per sample.
PolicyPtr make_color_jitter(double brightness = 0.4, double contrast = 0.4, double saturation = 0.4,
                            double hue = 0.1, double p = 1);
PolicyPtr make_grayscale(double p = 1);  // identity on 1-channel images

// Noise.
PolicyPtr make_gaussian_noise(Interval sigma, double p = 1);
// A fraction `amount` of the pixels set to 1 (salt) or 0 (pepper), half each, all channels.
PolicyPtr make_salt_pepper(Interval amount = {0.05, 0.05}, double p = 1);

// Quality.
PolicyPtr make_blur(Interval sigma, double p = 1);
// torchvision adjust_sharpness: blend with a 3×3 smoothed image; factor 1 is the identity.
PolicyPtr make_sharpen(Interval factor = {2, 2}, double p = 1);
// JPEG compression at a quality in [1, 100] (OpenCV imencode/imdecode per sample, on the CPU;
// NOT differentiable: the result carries no gradient).
PolicyPtr make_jpeg(Interval quality = {75, 75}, double p = 1);

// Dropping.
PolicyPtr make_cutout(int64_t size, double p = 1);  // size×size zeros, centre anywhere, clipped
PolicyPtr make_random_erasing(Interval scale = {0.02, 0.33}, Interval ratio = {0.3, 3.3},
                              double value = 0, double p = 0.5);

// Mixing (define soft labels in the labelled form): partner = a random other sample of the
// batch, weight lam ~ Beta(alpha, alpha) per sample.
PolicyPtr make_mixup(double alpha = 1.0, double p = 1);
PolicyPtr make_cutmix(double alpha = 1.0, double p = 1);

// RandAugment (Cubuk et al. 2020) with torchvision's 14 ops and magnitude bins (31 bins,
// m in [0, 30]); n ops per sample, each picked uniformly per sample.
PolicyPtr make_rand_augment(int64_t n = 2, int64_t m = 9, int64_t bins = 31);

// Any threat as a random augmentation: threat->sample(x) on each selected sample (the language's
// `sample(fog)`, and what a `policy` declaration makes of a threat).
PolicyPtr make_threat_sample(ThreatPtr threat, double p = 1);

}  // namespace perturb::augment
