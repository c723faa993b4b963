// Denoiser training: white box and zeroth-order (see denoiser_train.h).

#include "runtime/certify/denoiser_train.h"

#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/distributed/share.h"
#include "runtime/model/denoiser.h"
#include "runtime/train/optimizer.h"

namespace perturb {

torch::Tensor mmd(const torch::Tensor& a, const torch::Tensor& b) {
  auto kernel = [](const torch::Tensor& p, const torch::Tensor& q) {
    torch::Tensor d2 = torch::cdist(p, q).pow(2);
    torch::Tensor k = torch::zeros_like(d2);
    for (double h : {0.1, 1.0, 10.0}) k = k + torch::exp(-d2 / (2 * h * h));
    return k.mean();
  };
  return kernel(a, a) + kernel(b, b) - 2 * kernel(a, b);
}

BlackBoxLoss classifier_loss(const std::string& loss, const torch::Tensor& clean,
                             const torch::Tensor& denoised, double lambda_cs, double lambda_mmd) {
  namespace F = torch::nn::functional;
  BlackBoxLoss out;
  if (loss == "stability") {
    out.per_sample = F::cross_entropy(denoised, clean.argmax(1),
                                      F::CrossEntropyFuncOptions().reduction(torch::kNone));
    out.batch = torch::zeros({}, denoised.options());
    return out;
  }
  if (loss == "rdunet") {
    torch::Tensor p_clean = torch::softmax(clean, 1);
    torch::Tensor ce = -(p_clean * torch::log_softmax(denoised, 1)).sum(1);  // eq. 6.9
    torch::Tensor cs = 1 - F::cosine_similarity(clean, denoised,             // eq. 6.10
                                                F::CosineSimilarityFuncOptions().dim(1));
    out.per_sample = ce + lambda_cs * cs;
    out.batch = lambda_mmd * mmd(p_clean, torch::softmax(denoised, 1));  // eq. 6.11
    return out;
  }
  throw Error("unknown denoiser loss '" + loss + "'; use \"mse\", \"stability\" or \"rdunet\"");
}

namespace {
constexpr uint64_t kShardStreams = 0x5348000000;  // "SH": salts of the ranks' own streams
}  // namespace

DenoiserTrainResult train_denoiser(Model& denoiser, Model* classifier, const Dataset& data,
                                   const DenoiserTrainOptions& o) {
  if (o.loss != "mse" && o.loss != "stability" && o.loss != "rdunet") {
    throw Error("unknown denoiser loss '" + o.loss + "'; use \"mse\", \"stability\" or \"rdunet\"");
  }
  if (o.loss != "mse" && !classifier) throw Error("the " + o.loss + " loss needs a classifier");
  if (!(o.sigma >= 0)) throw Error("sigma must be >= 0, got " + std::to_string(o.sigma));
  if (o.epochs < 1 || o.batch < 1) throw Error("train_denoiser needs epochs and batch >= 1");
  const bool zo = !o.zo.empty();
  ZoMethod method = ZoMethod::kRge;
  if (zo) method = parse_zo_method(o.zo);
  if (zo && o.loss == "mse")
    throw Error(
        "the mse loss does not query the classifier; zo needs "
        "\"stability\" or \"rdunet\"");
  if (o.autoencoder && !zo) throw Error("an autoencoder (ZO-AE) needs zo: \"rge\" or \"cge\"");
  if (data.size() < 1) throw Error("train_denoiser needs data");
  torch::AutoGradMode grad_mode(true);  // the interpreter evaluates without gradients

  AutoencoderHalves ae;
  std::vector<torch::Tensor> params = denoiser.parameters();
  if (o.autoencoder) {
    ae = autoencoder_halves(*o.autoencoder);
    for (auto& p : ae.encoder.ptr()->parameters()) params.push_back(p);
    o.autoencoder->set_training(false);
    ae.encoder.ptr()->train(true);  // the encoder trains with the denoiser (thesis eq. 6.18)
  }
  auto optimizer = make_optimizer(o.optimizer, params);
  at::Generator gen = make_generator(o.seed);
  const torch::Device device = denoiser.device();
  ModeGuard den_mode(denoiser, /*training=*/true);
  std::unique_ptr<ModeGuard> classifier_mode;
  if (classifier) classifier_mode = std::make_unique<ModeGuard>(*classifier, false);

  DenoiserTrainResult result;
  const int64_t n = data.size();
  // Data-parallel in a group of processes: each rank takes a shard of every batch (and of its
  // noise, drawn for the whole batch from the shared generator), its loss scaled by its share,
  // and the gradients are summed over ranks. Batch statistics (the MMD term) are per shard.
  const WorkShare share = WorkShare::of_process();
  broadcast_from_rank0(params);
  uint64_t step = 0;
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    torch::Tensor order = torch::randperm(n, gen);
    double total = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += o.batch) {
      torch::Tensor batch_idx = order.narrow(0, start, std::min(o.batch, n - start));
      std::vector<int64_t> batch_shape = data.x.sizes().vec();
      batch_shape[0] = batch_idx.size(0);
      torch::Tensor batch_noise = at::normal(0, 1, batch_shape, gen);
      const auto [first, last] = share.rows(batch_idx.size(0));
      const double weight =
          static_cast<double>(last - first) / static_cast<double>(batch_idx.size(0));
      // A rank's own draws (the ZO estimates) come from a stream keyed by the batch and the
      // rank, so `gen` stays the same on every rank, and as in one process.
      at::Generator shard_gen =
          share.distributed() ? make_generator(mix_seed(mix_seed(o.seed, kShardStreams + step++),
                                                        static_cast<uint64_t>(share.rank)))
                              : gen;
      torch::Tensor idx = batch_idx.slice(0, first, last);
      torch::Tensor x = data.x.index_select(0, idx).to(device, torch::kFloat32);
      const int64_t b = x.size(0);
      torch::Tensor noise = batch_noise.slice(0, first, last).to(device) * o.sigma;
      if (b == 0) {  // a batch smaller than the group: this rank only takes part in the sum
        optimizer->zero_grad();
        sum_gradients(params);
        optimizer->step();
        ++batches;
        continue;
      }
      torch::Tensor x_hat = denoiser.forward(x + noise);
      torch::Tensor loss;
      double value;
      if (o.loss == "mse") {
        loss = (x_hat - x).pow(2).mean();
        value = loss.item<double>();
      } else {
        torch::Tensor clean;
        {
          torch::NoGradGuard no_grad;
          clean = classifier->forward(x);
        }
        result.queries += b;
        if (!zo) {
          loss =
              classifier_loss(o.loss, clean, classifier->forward(x_hat), o.lambda_cs, o.lambda_mmd)
                  .total();
          result.queries += b;
          value = loss.item<double>();
        } else {
          // The black box: f (ZO) or f∘Dec (ZO-AE), queried without gradients.
          torch::Tensor z = o.autoencoder ? ae.encoder.forward(x_hat) : x_hat;
          BlackBoxFn black = [&](const torch::Tensor& zq) {
            torch::NoGradGuard no_grad;
            torch::Tensor input = o.autoencoder ? ae.decoder.forward(zq) : zq;
            return classifier_loss(o.loss, clean, classifier->forward(input), o.lambda_cs,
                                   o.lambda_mmd);
          };
          ZoEstimate est = method == ZoMethod::kRge
                               ? rge_gradient(black, z.detach(), o.q, o.xi, shard_gen)
                               : cge_gradient(black, z.detach(), o.xi, shard_gen);
          result.queries += est.queries;
          if (!est.value.defined()) {
            est.value = black(z.detach()).total();
            result.queries += b;
          }
          value = est.value.item<double>();
          loss = (z * est.grad.detach()).sum();  // ∇_θ = (dz/dθ)ᵀ ∇̂_z (eq. 6.15)
        }
      }
      optimizer->zero_grad();
      (weight == 1 ? loss : loss * weight).backward();
      sum_gradients(params);
      optimizer->step();
      total += value * weight;
      ++batches;
    }
    if (share.distributed()) {
      total = sum_over_ranks(torch::tensor({total}, torch::kFloat64)).item<double>();
      average_over_ranks(denoiser.buffers());  // batch-norm statistics of the shards
    }
    result.losses.push_back(total / std::max<int64_t>(batches, 1));
    if (!o.quiet && share.rank == 0) {
      std::fprintf(stderr, "train_denoiser epoch %lld/%lld: loss %.4f, queries %lld\n",
                   static_cast<long long>(epoch), static_cast<long long>(o.epochs),
                   result.losses.back(), static_cast<long long>(result.queries));
    }
  }
  if (classifier) {
    for (auto& p : classifier->parameters()) p.mutable_grad() = torch::Tensor();
  }
  if (share.distributed()) {
    result.queries = sum_over_ranks(torch::tensor({result.queries})).item<int64_t>();
  }
  return result;
}

}  // namespace perturb
