#pragma once
// Script handles for certification (LANGUAGE.md §3): certification methods and certificates.
//
// `certify(model, data, method, ...)` (interpreter/builtins/certify.cpp) calls
// `method->certify(...)` on any CertifyMethodObject. Smooth(sigma:) is one. Another method
// (bound propagation's IBP(threat), for instance) joins by deriving from CertifyMethodObject in
// its own file and adding its kind to kCertifyMethodKinds below; it reads the options it needs
// from the call's arguments (n0, n, alpha, batch, sequential, radii are the named parameters of
// certify) and returns a Certificate (runtime/certify/certificate.h: per input a prediction,
// a certified radius — eps when verified, 0 otherwise — and correctness).

#include "interpreter/builtins/table.h"
#include "runtime/certify/certificate.h"
#include "runtime/certify/smoothing.h"
#include "runtime/data/dataset.h"
#include "runtime/model/model.h"

namespace perturb::lang {

// The kinds `certify`'s method argument accepts.
constexpr Kinds kCertifyMethodKinds = Kind::kSmoothing | Kind::kVerifier;

class CertifyMethodObject : public Object {
 public:
  // Certifies every input of `data`; `args` is the certify call (for its named options, its
  // generator through args.interp, and errors at the right argument).
  virtual Certificate certify(Model& model, const Dataset& data, CallArgs& args) const = 0;
};

class SmoothObject : public CertifyMethodObject {
 public:
  explicit SmoothObject(double sigma) : sigma(sigma) {}
  Kind kind() const override { return Kind::kSmoothing; }
  std::string describe() const override;
  std::optional<Value> field(const std::string& name) const override;
  Certificate certify(Model& model, const Dataset& data, CallArgs& args) const override;
  double sigma;
};

class CertificateObject : public Object {
 public:
  explicit CertificateObject(Certificate cert) : cert(std::move(cert)) {}
  Kind kind() const override { return Kind::kCertificate; }
  std::string describe() const override { return cert.describe(); }
  std::optional<Value> field(const std::string& name) const override;
  Certificate cert;
};

}  // namespace perturb::lang
