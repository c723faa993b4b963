#include "runtime/train/checkpoint.h"

#include <cstring>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"

namespace perturb {
namespace {

constexpr const char* kFormatKey = "perturb_train_checkpoint";
constexpr int64_t kFormatVersion = 1;

torch::Tensor int_tensor(int64_t v) {
  return torch::tensor(v, torch::kInt64);
}
torch::Tensor real_tensor(double v) {
  return torch::tensor(v, torch::kFloat64);
}

int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::Tensor t;
  archive.read(key, t);
  return t.item<int64_t>();
}

double read_real(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::Tensor t;
  archive.read(key, t);
  return t.item<double>();
}

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  archive.read(key, value);
  return value.toStringRef();
}

}  // namespace

void save_checkpoint(const std::string& path, const std::vector<torch::Tensor>& params,
                     torch::optim::Optimizer& optimizer, const TrainCheckpoint& state) {
  torch::serialize::OutputArchive archive;
  archive.write(kFormatKey, int_tensor(kFormatVersion));
  archive.write("fingerprint", c10::IValue(state.fingerprint));
  archive.write("param_count", int_tensor(static_cast<int64_t>(params.size())));
  for (size_t i = 0; i < params.size(); ++i) {
    archive.write("param_" + std::to_string(i), params[i].detach().cpu());
  }
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("epoch", int_tensor(state.epoch));
  archive.write("batch", int_tensor(state.batch));
  int64_t seed_bits = 0;
  std::memcpy(&seed_bits, &state.shuffle_seed, sizeof seed_bits);
  archive.write("shuffle_seed", int_tensor(seed_bits));
  archive.write("root_state", state.root_state);
  archive.write("has_attack_state", int_tensor(state.attack_state.defined() ? 1 : 0));
  if (state.attack_state.defined()) archive.write("attack_state", state.attack_state);
  archive.write("has_augment_state", int_tensor(state.augment_state.defined() ? 1 : 0));
  if (state.augment_state.defined()) archive.write("augment_state", state.augment_state);
  archive.write("loss_sum", real_tensor(state.loss_sum));
  archive.write("correct", int_tensor(state.correct));
  archive.write("seen", int_tensor(state.seen));
  archive.write("seconds", real_tensor(state.seconds));
  archive.write("log_row_count", int_tensor(static_cast<int64_t>(state.log_rows.size())));
  for (size_t i = 0; i < state.log_rows.size(); ++i) {
    archive.write("log_row_" + std::to_string(i), c10::IValue(state.log_rows[i]));
  }
  write_atomic(path, [&](const std::string& temp) { archive.save_to(temp); });
}

TrainCheckpoint load_checkpoint(const std::string& path, const std::vector<torch::Tensor>& params,
                                torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error&) {
    throw Error("'" + path + "' is not a training checkpoint (it cannot be read as one)");
  }
  TrainCheckpoint state;
  try {
    torch::Tensor marker;
    if (!archive.try_read(kFormatKey, marker)) {
      throw Error("'" + path + "' is not a training checkpoint");
    }
    state.fingerprint = read_string(archive, "fingerprint");
    const int64_t count = read_int(archive, "param_count");
    if (count != static_cast<int64_t>(params.size())) {
      throw Error("checkpoint '" + path + "' holds " + std::to_string(count) +
                  " parameter tensors but the model has " + std::to_string(params.size()));
    }
    std::vector<torch::Tensor> loaded(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      archive.read("param_" + std::to_string(i), loaded[i]);
      if (!loaded[i].sizes().equals(params[i].sizes())) {
        throw Error("checkpoint '" + path + "' was written for a model of other shapes");
      }
    }
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(loaded[i]);
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    state.epoch = read_int(archive, "epoch");
    state.batch = read_int(archive, "batch");
    const int64_t seed_bits = read_int(archive, "shuffle_seed");
    std::memcpy(&state.shuffle_seed, &seed_bits, sizeof seed_bits);
    archive.read("root_state", state.root_state);
    if (read_int(archive, "has_attack_state")) archive.read("attack_state", state.attack_state);
    if (read_int(archive, "has_augment_state")) archive.read("augment_state", state.augment_state);
    state.loss_sum = read_real(archive, "loss_sum");
    state.correct = read_int(archive, "correct");
    state.seen = read_int(archive, "seen");
    state.seconds = read_real(archive, "seconds");
    const int64_t rows = read_int(archive, "log_row_count");
    for (int64_t i = 0; i < rows; ++i) {
      state.log_rows.push_back(read_string(archive, "log_row_" + std::to_string(i)));
    }
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path +
                "' is damaged or from another version: " + e.what_without_backtrace());
  }
  return state;
}

}  // namespace perturb
