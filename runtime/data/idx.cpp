#include "runtime/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "runtime/core/error.h"

namespace perturb {
namespace {

struct IdxType {
  torch::Dtype dtype;
  size_t bytes;
};

// The IDX type byte → tensor dtype and width; false for a code IDX does not define.
bool idx_type(uint8_t code, IdxType* type) {
  switch (code) {
    case 0x08:
      *type = {torch::kUInt8, 1};
      return true;
    case 0x09:
      *type = {torch::kInt8, 1};
      return true;
    case 0x0B:
      *type = {torch::kInt16, 2};
      return true;
    case 0x0C:
      *type = {torch::kInt32, 4};
      return true;
    case 0x0D:
      *type = {torch::kFloat32, 4};
      return true;
    case 0x0E:
      *type = {torch::kFloat64, 8};
      return true;
    default:
      return false;
  }
}

// The whole file's bytes, gunzipped if it is gzip. Reading everything at once is fast enough:
// the 60k Fashion-MNIST training images are 47 MB and inflate in well under a second.
std::string read_bytes(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  unsigned char head[2] = {0, 0};
  const size_t got = std::fread(head, 1, 2, file);
  std::fclose(file);
  const bool gzipped = got == 2 && head[0] == 0x1f && head[1] == 0x8b;

  // gzread also reads plain files, so one loop serves both.
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  gzbuffer(gz, 1 << 20);
  std::string bytes;
  std::vector<char> chunk(1 << 20);
  while (true) {
    const int n = gzread(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      const std::string reason = gzerror(gz, &code);
      gzclose(gz);
      if (code == Z_ERRNO) throw IoError("cannot read '" + path + "': " + std::strerror(errno));
      throw Error("'" + path + "' is not a valid gzip stream (" + reason + ")");
    }
    if (n == 0) break;
    bytes.append(chunk.data(), static_cast<size_t>(n));
  }
  int code = 0;
  const std::string reason = gzerror(gz, &code);
  gzclose(gz);
  // A gzip stream cut short reports Z_BUF_ERROR only after the last read.
  if (gzipped && code != Z_OK) {
    throw Error("'" + path + "' is not a valid gzip stream (" + reason + ")");
  }
  return bytes;
}

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::string hex_magic(const std::string& bytes) {
  char buffer[16];
  unsigned char m[4] = {0, 0, 0, 0};
  std::memcpy(m, bytes.data(), std::min<size_t>(4, bytes.size()));
  std::snprintf(buffer, sizeof buffer, "0x%02X%02X%02X%02X", m[0], m[1], m[2], m[3]);
  return buffer;
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::ostringstream out;
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? "×" : "") << dims[i];
  return out.str();
}

// IDX stores multi-byte values big-endian; x86 and ARM are little-endian.
void swap_to_host(torch::Tensor& t, size_t bytes) {
  if (bytes == 1) return;
  auto* p = static_cast<unsigned char*>(t.data_ptr());
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) std::reverse(p + i * bytes, p + (i + 1) * bytes);
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  const std::string bytes = read_bytes(path);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  IdxType type{};
  if (bytes.size() < 4 || data[0] != 0 || data[1] != 0 || !idx_type(data[2], &type) ||
      data[3] == 0) {
    throw Error("'" + path + "' is not an IDX file (bad magic " + hex_magic(bytes) + ")");
  }
  const size_t ndims = data[3];
  const size_t header = 4 + 4 * ndims;
  if (bytes.size() < header) {
    throw Error("'" + path + "' is truncated: header says " + std::to_string(ndims) +
                " dimensions, found " + std::to_string(bytes.size()) + " bytes");
  }
  std::vector<int64_t> dims;
  size_t count = 1;
  for (size_t i = 0; i < ndims; ++i) {
    dims.push_back(big_endian_u32(data + 4 + 4 * i));
    count *= static_cast<size_t>(dims.back());
  }
  const size_t payload = bytes.size() - header;
  const std::string unit = type.bytes == 1 ? " bytes" : " values";
  if (payload < count * type.bytes) {
    throw Error("'" + path + "' is truncated: header says " + dims_text(dims) + unit + ", found " +
                std::to_string(payload / type.bytes));
  }
  auto tensor = torch::empty(dims, torch::TensorOptions().dtype(type.dtype));
  std::memcpy(tensor.data_ptr(), data + header, count * type.bytes);
  swap_to_host(tensor, type.bytes);
  return tensor;
}

}  // namespace perturb
