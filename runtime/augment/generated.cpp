// The environment-switch policy (generated.h).

#include "runtime/augment/generated.h"

#include "runtime/augment/augment_util.h"
#include "runtime/core/error.h"

namespace perturb {
namespace {

using augment_detail::ProbOp;

class Generated : public ProbOp {
 public:
  Generated(std::shared_ptr<IpesGan> gan, std::string to, double p)
      : ProbOp("Generated", p, 1.0), gan_(std::move(gan)), to_(std::move(to)) {}

 protected:
  torch::Tensor transform(const torch::Tensor& x, at::Generator& gen) const override {
    at::Generator cpu = augment_detail::generator_on(gen, torch::kCPU);
    return gan_->generate(x, to_ == "target" ? IpesDomain::kTarget : IpesDomain::kSource, cpu);
  }
  std::string params_text() const override { return "to: \"" + to_ + "\""; }

 private:
  std::shared_ptr<IpesGan> gan_;
  std::string to_;
};

}  // namespace

PolicyPtr make_generated(std::shared_ptr<IpesGan> gan, const std::string& to, double p) {
  if (to != "target" && to != "source") {
    throw Error("Generated's to must be \"target\" or \"source\", got \"" + to + "\"");
  }
  if (!gan) throw Error("Generated needs a trained IPES-GAN");
  return std::make_shared<Generated>(std::move(gan), to, p);
}

}  // namespace perturb
