// Two-modality identity training (cross_modal_train.h).
#include "runtime/train/cross_modal_train.h"

#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

// Anchors of a against the other modality b: hardest positive and hardest negative in b.
torch::Tensor one_way_triplet(const torch::Tensor& e_a, const torch::Tensor& y_a,
                              const torch::Tensor& e_b, const torch::Tensor& y_b, double margin) {
  const auto distances = torch::cdist(e_a, e_b);
  const auto same = y_a.view({-1, 1}) == y_b.view({1, -1});
  const auto has_pos = same.any(1) & (~same).any(1);
  const double big = 1e9;
  const auto hardest_pos = distances.masked_fill(~same, -big).amax(1);
  const auto hardest_neg = distances.masked_fill(same, big).amin(1);
  const auto losses = (margin + hardest_pos - hardest_neg).clamp_min(0);
  return losses.masked_select(has_pos);
}

void check_options(const ReidModel& net, const PairedModalities& data,
                   const CrossModalTrainOptions& o) {
  if (o.epochs < 1) throw Error("train_cross_modal epochs must be at least 1");
  if (o.batch < 1) throw Error("train_cross_modal batch must be at least 1");
  if (!(o.lr > 0)) throw Error("train_cross_modal lr must be positive, got " + format_number(o.lr));
  for (const Dataset* part : {&data.visible, &data.infrared}) {
    if (part->size() == 0) {
      throw Error("train_cross_modal needs images of both modalities; " + part->name + " is empty");
    }
    const int64_t top = part->y.max().item<int64_t>();
    if (top >= net.options().classes) {
      throw Error("train_cross_modal: " + part->name + " has identity label " +
                  std::to_string(top) + " but the network has " +
                  std::to_string(net.options().classes) + " classes");
    }
  }
}

// Row indices of one modality for `steps` minibatches, cycling through fresh permutations.
std::vector<torch::Tensor> minibatch_rows(int64_t n, int64_t batch, int64_t steps,
                                          at::Generator& gen) {
  std::vector<torch::Tensor> rows;
  torch::Tensor order = torch::randperm(n, gen, torch::kInt64);
  int64_t at = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (at >= n) {
      order = torch::randperm(n, gen, torch::kInt64);
      at = 0;
    }
    rows.push_back(order.slice(0, at, std::min(n, at + batch)));
    at += batch;
  }
  return rows;
}

}  // namespace

torch::Tensor cross_modal_triplet(const torch::Tensor& e_a, const torch::Tensor& y_a,
                                  const torch::Tensor& e_b, const torch::Tensor& y_b,
                                  double margin) {
  const auto losses = torch::cat(
      {one_way_triplet(e_a, y_a, e_b, y_b, margin), one_way_triplet(e_b, y_b, e_a, y_a, margin)});
  if (losses.numel() == 0) return torch::zeros({}, e_a.options());
  return losses.mean();
}

std::vector<CrossModalEpoch> train_cross_modal(ReidModel& net, const PairedModalities& data,
                                               const CrossModalTrainOptions& options) {
  check_options(net, data, options);
  torch::optim::Adam optimizer(net.parameters(), torch::optim::AdamOptions(options.lr));
  at::Generator gen = make_generator(options.seed);
  const auto device = net.device();
  const int64_t nv = data.visible.size(), ni = data.infrared.size();
  const int64_t steps = (std::max(nv, ni) + options.batch - 1) / options.batch;
  ModeGuard training(net, /*training=*/true);
  torch::AutoGradMode grad_mode(true);  // scripts evaluate without gradients
  std::vector<CrossModalEpoch> history;
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto rows_v = minibatch_rows(nv, options.batch, steps, gen);
    const auto rows_i = minibatch_rows(ni, options.batch, steps, gen);
    std::unique_ptr<Progress> progress;
    if (!options.quiet) {
      progress = std::make_unique<Progress>(
          "epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs), steps);
    }
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (int64_t s = 0; s < steps; ++s) {
      const auto& rv = rows_v[static_cast<size_t>(s)];
      const auto& ri = rows_i[static_cast<size_t>(s)];
      const auto y_v = data.visible.y.index_select(0, rv).to(device);
      const auto y_i = data.infrared.y.index_select(0, ri).to(device);
      auto [embedding, logits] =
          net.forward_pair(data.visible.x.index_select(0, rv), data.infrared.x.index_select(0, ri));
      const int64_t bv = rv.size(0);
      const auto e_v = embedding.slice(0, 0, bv), e_i = embedding.slice(0, bv);
      const auto logits_v = logits.slice(0, 0, bv), logits_i = logits.slice(0, bv);
      auto loss = torch::nn::functional::cross_entropy(logits_v, y_v) +
                  torch::nn::functional::cross_entropy(logits_i, y_i);
      if (options.triplet_weight > 0) {
        loss =
            loss + options.triplet_weight * cross_modal_triplet(e_v, y_v, e_i, y_i, options.margin);
      }
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      correct += (logits_v.argmax(1) == y_v).sum().item<int64_t>() +
                 (logits_i.argmax(1) == y_i).sum().item<int64_t>();
      seen += y_v.size(0) + y_i.size(0);
      if (progress) {
        char status[64];
        std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", loss_sum / (s + 1),
                      100.0 * correct / seen);
        progress->advance(1, status);
      }
    }
    if (progress) progress->finish();
    history.push_back({epoch, loss_sum / static_cast<double>(steps),
                       static_cast<double>(correct) / static_cast<double>(seen)});
  }
  return history;
}

}  // namespace perturb
