// Generated(gan, to: "target", p: 1): IPES-GAN's environment switch as an augmentation policy
// (thesis ch. 3, §3.2.2, Fig. 3.8). Each selected image of a batch is replaced by its switched
// version, I^{S→G} = G_S(f^T_env, f^S_id) with the environment of a random target image; the
// label stays, as the thesis pseudo-labels I^{S→G} with the source identity.
#pragma once

#include <memory>
#include <string>

#include "runtime/augment/policy.h"
#include "runtime/model/ipes_gan.h"

namespace perturb {

// to: "target" or "source" (Error otherwise); p: the chance each image is switched.
PolicyPtr make_generated(std::shared_ptr<IpesGan> gan, const std::string& to, double p);

}  // namespace perturb
