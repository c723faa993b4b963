// The feature objective (thesis ch. 4, eq. 4.3): anchors and the metric loss.
#include "runtime/attack/feature.h"

#include "runtime/attack/attack.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

void FeatureGallery::check() const {
  if (!x.defined() || !y.defined() || x.dim() == 0 || y.dim() != 1 || x.size(0) != y.size(0)) {
    throw Error("a gallery needs images [G, ...] and labels [G], got images " +
                (x.defined() ? format_shape(x.sizes().vec()) : std::string("none")) +
                " and labels " +
                (y.defined() ? format_shape(y.sizes().vec()) : std::string("none")));
  }
  if (x.size(0) == 0) throw Error("the gallery is empty");
}

torch::Tensor embed(Model& model, const torch::Tensor& x, int64_t batch, AttackStats* stats) {
  if (batch < 1) throw Error("batch must be at least 1, got " + std::to_string(batch));
  if (x.size(0) == 0) return torch::zeros({0, 0}, x.options().dtype(torch::kFloat32));
  if (stats) stats->queries += x.size(0);
  return forward_batched(model, x, batch).reshape({x.size(0), -1}).to(torch::kFloat32);
}

torch::Tensor feature_distance(const torch::Tensor& embedding, const torch::Tensor& anchor) {
  const auto e = embedding.reshape({embedding.size(0), -1});
  if (!anchor.defined() || anchor.dim() != 2 || anchor.size(0) != e.size(0) ||
      anchor.size(1) != e.size(1)) {
    throw Error("the feature objective compares embeddings [" + std::to_string(e.size(0)) + ", " +
                std::to_string(e.size(1)) + "] with anchors of shape " +
                (anchor.defined() ? format_shape(anchor.sizes().vec()) : std::string("none")) +
                "; the attack did not resolve its anchors (this attack does not support "
                "objective: \"feature\")");
  }
  // eq. 4.3: ‖f(I_g) − f(Ĩ)‖₂.
  return ((anchor.to(e.device(), e.scalar_type()) - e).pow(2).sum(1) + 1e-12).sqrt();
}

namespace {

// The mean gallery embedding of each identity: (identities [K], centroids [K, d]).
std::pair<torch::Tensor, torch::Tensor> identity_centroids(const torch::Tensor& embeddings,
                                                           const torch::Tensor& labels) {
  const auto identities = std::get<0>(at::_unique(labels, /*sorted=*/true));
  const auto members =
      (labels.unsqueeze(0) == identities.unsqueeze(1)).to(embeddings.scalar_type());  // [K, G]
  const auto centroids = members.mm(embeddings) / members.sum(1, /*keepdim=*/true);
  return {identities, centroids};
}

// The index into `identities` of each label, or −1 where the label has none.
torch::Tensor identity_index(const torch::Tensor& identities, const torch::Tensor& labels) {
  const auto hit = labels.unsqueeze(1) == identities.unsqueeze(0);  // [N, K]
  const auto index = hit.to(torch::kInt64).argmax(1);
  return torch::where(hit.any(1), index, torch::full_like(index, -1));
}

}  // namespace

torch::Tensor feature_anchors(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                              const GradientOptions& options, at::Generator& gen,
                              AttackStats* stats) {
  using Mode = TargetSpec::Mode;
  const auto clean = embed(model, x, x.size(0) > 0 ? x.size(0) : 1, stats);
  if (!options.gallery) {
    if (options.target.targeted()) {
      throw Error(
          "a targeted feature attack pulls queries towards a gallery identity; give it "
          "gallery:");
    }
    return clean;
  }
  const auto& gallery = *options.gallery;
  gallery.check();
  const auto gallery_labels = gallery.y.to(torch::kCPU, torch::kInt64);
  const auto [identities, centroids] =
      identity_centroids(embed(model, gallery.x, 256, stats).to(torch::kCPU), gallery_labels);
  const auto labels = y.to(torch::kCPU, torch::kInt64);
  torch::Tensor index;
  switch (options.target.mode) {
    case Mode::kNone:
      index = identity_index(identities, labels);
      break;
    case Mode::kLabel: {
      index = identity_index(identities, torch::full_like(labels, options.target.value));
      if (index.numel() > 0 && index[0].item<int64_t>() < 0) {
        throw Error("target identity " + std::to_string(options.target.value) +
                    " has no image in the gallery");
      }
      break;
    }
    case Mode::kRandom: {
      // Uniform over the gallery's identities other than the query's own.
      const int64_t k = identities.size(0);
      const auto own = identity_index(identities, labels);
      index = torch::empty_like(labels);
      for (int64_t i = 0; i < labels.size(0); ++i) {
        const int64_t mine = own[i].item<int64_t>();
        const int64_t choices = mine >= 0 ? k - 1 : k;
        if (choices < 1) throw Error("a random target needs at least 2 identities in the gallery");
        int64_t pick =
            torch::randint(choices, {1}, gen,
                           torch::TensorOptions().dtype(torch::kInt64).device(gen.device()))
                .item<int64_t>();
        if (mine >= 0 && pick >= mine) ++pick;
        index[i] = pick;
      }
      break;
    }
    default:
      throw Error(
          "a feature attack's target must be a gallery identity or \"random\"; "
          "\"least_likely\" and ranked targets need class scores");
  }
  // Queries without a match in the gallery keep their own clean embedding as the anchor.
  const auto found = index >= 0;
  const auto picked = centroids.index_select(0, index.clamp_min(0)).to(clean.device());
  if (picked.size(1) != clean.size(1)) {
    throw Error("gallery embeddings have " + std::to_string(picked.size(1)) +
                " features, the queries' " + std::to_string(clean.size(1)));
  }
  return torch::where(found.to(clean.device()).unsqueeze(1), picked, clean);
}

void check_feature_start(const std::string& owner, const GradientOptions& options,
                         bool random_start) {
  if (options.objective != "feature" || options.gallery || random_start) return;
  throw Error(owner +
              " with objective: \"feature\" and no gallery starts at the clean query, where the "
              "distance to its own embedding has zero gradient; give " +
              (owner == "FGSM" ? std::string("it gallery:") : "gallery: or random_start: true"));
}

}  // namespace perturb
