// Training a two-branch visible–infrared re-ID network on both modalities at once, after AGW's
// recipe (Ye et al. 2021, §4.1): every step one visible and one infrared minibatch go through
// their own stems and then together, as one batch, through the shared trunk (so that its batch
// norm sees both modalities, as its running statistics will at test time); the loss is the identity
// cross-entropy of both plus a cross-modality batch-hard triplet loss on the embeddings (Hermans et
// al. 2017, eq. 5, with anchors of one modality and positives/negatives of the other):
//
//   L = CE(head(e_v), y_v) + CE(head(e_i), y_i)
//     + w · mean_a max(0, m + max_{p: y_p = y_a} ‖e_a − e_p‖ − min_{n: y_n ≠ y_a} ‖e_a − e_n‖)
//
// where a ranges over both minibatches and p, n over the other one. Deviation: AGW's weighted
// regularised triplet and non-local blocks are left out; this is the plain batch-hard form.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/data/paired_modalities.h"
#include "runtime/model/zoo_reid.h"

namespace perturb {

struct CrossModalTrainOptions {
  int64_t epochs = 5;
  int64_t batch = 64;           // per modality
  double lr = 0.001;            // Adam
  double margin = 0.3;          // triplet margin m (AGW/TriHard's 0.3)
  double triplet_weight = 1.0;  // w; 0 trains on the cross-entropy alone
  uint64_t seed = 0;            // minibatch order
  bool quiet = false;           // no progress bar
};

struct CrossModalEpoch {
  int64_t epoch = 0;
  double loss = 0;
  double accuracy = 0;  // identity accuracy of the head over both modalities' minibatches
};

// Trains `net` in place. An epoch is as many steps as the larger modality has minibatches; the
// smaller one is cycled through in its own seeded order. Errors: empty modality, labels beyond
// the network's classes, bad options.
std::vector<CrossModalEpoch> train_cross_modal(ReidModel& net, const PairedModalities& data,
                                               const CrossModalTrainOptions& options);

// The triplet term above for embeddings of the two modalities; 0 when no anchor has both a
// positive and a negative in the other minibatch.
torch::Tensor cross_modal_triplet(const torch::Tensor& e_a, const torch::Tensor& y_a,
                                  const torch::Tensor& e_b, const torch::Tensor& y_b,
                                  double margin);

}  // namespace perturb
