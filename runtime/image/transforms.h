// Batched, differentiable image transforms on x [N, C, H, W] with per-sample parameters.
//
// Shared by the physical threats (runtime/threat/physical.*), which search the parameters by
// gradient, and by the augmentation policies, which sample them. Every function:
//   - takes x [N, C, H, W] (float, any device) and parameter tensors of shape [N] (ColorShift:
//     [N, 3]); a parameter tensor may also be 0-d or [1], which broadcasts to the batch;
//     parameters are moved to x's device and dtype;
//   - is differentiable in x and in its parameters (autograd flows through every op);
//   - keeps values in [0, 1] where the op could leave it (brightness, contrast, gamma,
//     color_shift clamp like torchvision's adjust_*); geometric ops fill uncovered pixels with 0;
//   - throws perturb::Error in the user's terms on a wrong shape or parameter count.
// Geometry: bilinear sampling (affine_grid + grid_sample, align_corners false) about the image
// centre; positive angles rotate counter-clockwise as seen on screen (torchvision's convention);
// positive dx moves content right, positive dy moves it down; scale > 1 zooms in.
#pragma once

#include <torch/torch.h>

namespace perturb::image {

// Rotation by `degrees` [N] about the centre (counter-clockwise for positive angles).
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& degrees);

// Shift by (dx, dy) pixels [N] each; fractional shifts interpolate bilinearly.
torch::Tensor translate(const torch::Tensor& x, const torch::Tensor& dx, const torch::Tensor& dy);

// Zoom about the centre by `factor` [N] (> 0; 1 is the identity, 2 shows the central half).
torch::Tensor scale(const torch::Tensor& x, const torch::Tensor& factor);

// One general affine warp: theta [N, 2, 3] maps output to input in normalised coordinates
// (affine_grid's convention). rotate/translate/scale are built on it.
torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& theta);

// x · factor, clamped to [0, 1] (torchvision adjust_brightness).
torch::Tensor brightness(const torch::Tensor& x, const torch::Tensor& factor);

// mean + factor · (x − mean), clamped to [0, 1]; mean is the per-image mean of the grayscale
// image for 3 channels (torchvision adjust_contrast), else of all values.
torch::Tensor contrast(const torch::Tensor& x, const torch::Tensor& factor);

// x^g (g > 0) on x clamped to [0, 1]; 0 stays 0 with a finite gradient in g.
torch::Tensor gamma(const torch::Tensor& x, const torch::Tensor& g);

// Separable Gaussian blur with standard deviation sigma [N] pixels (≥ 0; 0 is the identity),
// differentiable in sigma. The kernel has 2·ceil(3·max σ)+1 taps (at least 3; at most the
// image size), reflect padding (replicate where the image is too small to reflect).
torch::Tensor gaussian_blur(const torch::Tensor& x, const torch::Tensor& sigma);

// Luminance 0.299 R + 0.587 G + 0.114 B copied to the 3 channels. 3-channel input only.
torch::Tensor grayscale(const torch::Tensor& x);

// x + shift[:, c] per channel c, clamped to [0, 1]; shift [N, 3]. 3-channel input only.
torch::Tensor color_shift(const torch::Tensor& x, const torch::Tensor& shift);

// Atmospheric scattering (Koschmieder; physics review §3.3): I = J·t + A·(1 − t) with
// t = exp(−β·d). beta [N] ≥ 0, airlight A [N] in [0, 1], depth d: [H, W], [1, 1, H, W] or
// [N, 1, H, W] (broadcast over channels). β = 0 is the identity; as β grows the image moves
// monotonically towards A (darker where J > A, brighter where J < A).
torch::Tensor haze(const torch::Tensor& x, const torch::Tensor& beta, const torch::Tensor& airlight,
                   const torch::Tensor& depth);
// The default depth map [1, 1, H, W]: d(r) = 0.2 + 0.8·(1 − r/(H − 1)) for row r — smooth,
// constant along each row, 1 at the top row and 0.2 at the bottom (a ground plane seen from a
// camera: the top of the picture is farther away, so it is hazier).
torch::Tensor default_depth(int64_t height, int64_t width, const torch::TensorOptions& options);

// Checks x is [N, C, H, W] with C == `channels` when channels > 0; `what` names the caller in
// the message ("Grayscale needs 3-channel images [N, 3, H, W], got [8, 1, 28, 28]").
void check_images(const torch::Tensor& x, const char* what, int64_t channels = 0);

}  // namespace perturb::image
