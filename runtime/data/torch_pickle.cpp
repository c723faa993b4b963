#include "runtime/data/torch_pickle.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"

namespace perturb {
namespace {

void write_pickled(const std::string& path, const torch::IValue& value) {
  const std::vector<char> bytes = torch::pickle_save(value);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

uint64_t little_endian(const std::vector<char>& bytes, size_t at, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)]);
  }
  return value;
}

// Whether a ZIP archive (torch.save's format since PyTorch 1.6) is whole: its end record, and the
// central directory it points to inside the file. LibTorch 1.13's pickle_load reads a cut archive
// past the end of the buffer it was given (ASan: heap-buffer-overflow in mz_zip_reader_init), so
// such a file must not reach it. Files that are not ZIP archives (the legacy format) pass.
bool whole_zip(const std::vector<char>& bytes) {
  constexpr size_t kEndSize = 22, kLocatorSize = 20, kZip64EndSize = 56;
  if (bytes.size() < 4 || little_endian(bytes, 0, 4) != 0x04034b50) return true;
  if (bytes.size() < kEndSize) return false;
  const size_t lowest = bytes.size() - kEndSize > 65535 ? bytes.size() - kEndSize - 65535 : 0;
  for (size_t end = bytes.size() - kEndSize + 1; end-- > lowest;) {
    if (little_endian(bytes, end, 4) != 0x06054b50) continue;
    uint64_t size = little_endian(bytes, end + 12, 4), offset = little_endian(bytes, end + 16, 4);
    uint64_t directory_end = end;
    const bool zip64 =
        end >= kLocatorSize && little_endian(bytes, end - kLocatorSize, 4) == 0x07064b50;
    if (zip64) {
      const uint64_t record = little_endian(bytes, end - kLocatorSize + 8, 8);
      if (record + kZip64EndSize > end - kLocatorSize ||
          little_endian(bytes, static_cast<size_t>(record), 4) != 0x06064b50) {
        return false;
      }
      size = little_endian(bytes, static_cast<size_t>(record) + 40, 8);
      offset = little_endian(bytes, static_cast<size_t>(record) + 48, 8);
      directory_end = record;
    }
    return offset <= directory_end && size <= directory_end - offset;
  }
  return false;
}

}  // namespace

std::optional<TorchSaved> try_read_torch_save(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (!whole_zip(bytes)) return std::nullopt;
  torch::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  TorchSaved saved;
  if (value.isTensor()) {
    saved.tensor = value.toTensor();
    return saved;
  }
  if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) {
        throw Error("'" + path +
                    "' holds a dict whose entries are not all str → tensor; Perturb reads "
                    "torch.save files of one tensor or of a dict of named tensors");
      }
      saved.named.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
    return saved;
  }
  throw Error("'" + path + "' holds a " + value.tagKind() +
              "; Perturb reads torch.save files of one tensor or of a dict of named tensors");
}

void write_torch_save(const std::string& path, const torch::Tensor& tensor) {
  write_pickled(path, tensor.detach().to(torch::kCPU).contiguous());
}

void write_torch_save(const std::string& path, const NamedTensors& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    if (dict.contains(name)) throw Error("'" + name + "' is named twice");
    dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
  }
  write_pickled(path, dict);
}

}  // namespace perturb
