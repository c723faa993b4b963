#include "runtime/train/contrastive.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/train/optimizer.h"

namespace perturb {

ClipLoss clip_loss(const torch::Tensor& image_embeddings, const torch::Tensor& text_embeddings,
                   const torch::Tensor& logit_scale) {
  if (image_embeddings.dim() != 2 || text_embeddings.dim() != 2 ||
      image_embeddings.size(0) != text_embeddings.size(0) ||
      image_embeddings.size(1) != text_embeddings.size(1)) {
    throw Error("the contrastive loss needs as many image as text embeddings of one size, got " +
                std::to_string(image_embeddings.size(0)) + " and " +
                std::to_string(text_embeddings.size(0)));
  }
  if (image_embeddings.size(0) == 0) throw Error("the contrastive loss needs at least one pair");
  namespace F = torch::nn::functional;
  // Eq. 1: logits_ij = S(I_i, T_j)/τ with 1/τ = exp(logit_scale); pair i is the positive.
  const torch::Tensor logits =
      logit_scale.exp() * cosine_similarity_matrix(image_embeddings, text_embeddings);
  const torch::Tensor targets = torch::arange(logits.size(0), logits.options().dtype(torch::kLong));
  ClipLoss loss;
  loss.image = F::cross_entropy(logits, targets);
  loss.text = F::cross_entropy(logits.t(), targets);
  loss.both = (loss.image + loss.text) / 2;
  return loss;
}

namespace {

void check_options(const ContrastiveOptions& o) {
  if (o.epochs < 1 || o.batch < 1) {
    throw Error("train needs at least 1 epoch and a batch of at least 1");
  }
  if (o.method != "contrastive" && o.method != "tecoa" && o.method != "mat") {
    throw Error("unknown method '" + o.method +
                "' for a two-tower model; the methods are \"contrastive\", \"tecoa\" and \"mat\"");
  }
  if (o.method == "tecoa") {
    if (!o.adversary) {
      throw Error(
          "method \"tecoa\" needs an image adversary, e.g. adversary: PGD(Linf(eps: 2/255))");
    }
    if (!o.adversary->threat().image) {
      throw Error("method \"tecoa\" needs an adversary that perturbs images; " +
                  o.adversary->describe() + " does not");
    }
  }
  if (o.method == "mat") {
    if (!o.adversary) {
      throw Error(
          "method \"mat\" needs an adversary that perturbs the captions and the images, "
          "e.g. adversary: CoAttack(Pair(image: Linf(eps: 2/255), text: WordSub()))");
    }
    if (!o.adversary->threat().text) {
      throw Error("method \"mat\" needs an adversary that perturbs the captions (eq. 6); " +
                  o.adversary->describe() +
                  " only perturbs images: use method \"contrastive\" with it (MAT_Img) or "
                  "\"tecoa\"");
    }
  }
}

std::vector<std::string> first_of_each(const PairedDataset& part) {
  std::vector<std::string> out;
  out.reserve(part.captions.size());
  for (const auto& list : part.captions) out.push_back(list.front());
  return out;
}

}  // namespace

std::vector<ContrastiveEpoch> train_contrastive(TwoTower& model, const PairedDataset& data,
                                                const ContrastiveOptions& options) {
  check_options(options);
  data.check();
  if (data.size() == 0) throw Error("train needs at least one captioned image");
  // Callers (the interpreter) may run in no-grad mode; training always needs gradients.
  torch::AutoGradMode enable_grad(true);
  const bool tecoa = options.method == "tecoa";
  const PairedDataset pairs = data.first_captions();
  auto params = tecoa ? model.image_parameters() : model.parameters();
  auto optimizer = make_optimizer(options.optimizer, params);
  const int64_t batches = (pairs.size() + options.batch - 1) / options.batch;
  auto root = make_generator(options.seed);
  // Training mode for the run; the previous mode comes back even when a batch throws.
  TwoTowerModeGuard training_mode(model, true);
  std::vector<ContrastiveEpoch> result;
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const uint64_t shuffle_seed = next_seed(root);
    at::Generator attack_gen = make_generator(next_seed(root));
    const auto parts = pairs.shuffle(shuffle_seed).batches(options.batch);
    std::unique_ptr<Progress> progress;
    if (!options.quiet) {
      progress = std::make_unique<Progress>(
          "epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs), pairs.size());
    }
    double loss_sum = 0, lr = options.optimizer.lr;
    int64_t correct = 0, seen = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const PairedDataset& clean = parts[static_cast<size_t>(b)];
      lr = scheduled_lr(options.lr_schedule, options.optimizer.lr, options.epochs, batches, epoch,
                        b);
      set_learning_rate(*optimizer, lr);
      // The adversary puts the model in eval mode and restores training mode after.
      const PairedDataset attacked =
          options.adversary ? options.adversary->run(model, clean, attack_gen) : clean;
      torch::Tensor images = model.encode_image(attacked.images.to(model.device()));
      torch::Tensor texts;
      torch::Tensor loss;
      if (tecoa) {
        // Eq. 3: L_CLIP_I(I', T) on the clean captions; the text tower is not trained.
        {
          torch::NoGradGuard no_grad;
          texts = model.encode_text(first_of_each(clean));
        }
        loss = clip_loss(images, texts, model.logit_scale().detach()).image;
      } else {
        texts = model.encode_text(first_of_each(attacked));
        loss = clip_loss(images, texts, model.logit_scale()).both;
      }
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      {
        torch::NoGradGuard no_grad;
        const torch::Tensor sim = cosine_similarity_matrix(images.detach(), texts.detach());
        correct += (sim.argmax(1) == torch::arange(sim.size(0), sim.options().dtype(torch::kLong)))
                       .sum()
                       .item<int64_t>();
      }
      loss_sum += loss.item<double>() * static_cast<double>(clean.size());
      seen += clean.size();
      if (progress) {
        char status[96];
        std::snprintf(status, sizeof status, "loss %.4f acc %.2f%% lr %.3g", loss_sum / seen,
                      100.0 * correct / seen, lr);
        progress->advance(clean.size(), status);
      }
    }
    ContrastiveEpoch stats;
    stats.epoch = epoch;
    stats.lr = lr;
    stats.loss = loss_sum / static_cast<double>(seen);
    stats.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    stats.temperature = std::exp(-model.logit_scale().detach().cpu().item<double>());
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress) progress->finish();
    if (!options.quiet) {
      spdlog::info(
          "epoch {}/{}: lr {:.4g}, loss {:.4f}, in-batch accuracy {:.2f}%, temperature "
          "{:.4f}, {:.1f}s",
          epoch, options.epochs, stats.lr, stats.loss, 100 * stats.accuracy, stats.temperature,
          stats.seconds);
    }
    result.push_back(stats);
    if (options.on_epoch) options.on_epoch(stats);
  }
  return result;
}

}  // namespace perturb
