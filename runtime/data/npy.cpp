#include "runtime/data/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"

namespace perturb {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicSize = 6;
constexpr const char* kSupportedDtypes =
    "float32 ('<f4', '>f4'), float64 ('<f8', '>f8'), int32 ('<i4', '>i4'), int64 ('<i8', "
    "'>i8'), uint8 ('|u1') and bool ('|b1')";

// ---------------------------------------------------------------------------------------------
// Bytes

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("cannot read '" + path + "': " + std::strerror(errno));
  return bytes;
}

bool host_is_little_endian() {
  const uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

void swap_bytes(void* data, int64_t count, size_t itemsize) {
  if (itemsize == 1) return;
  auto* p = static_cast<unsigned char*>(data);
  for (int64_t i = 0; i < count; ++i) std::reverse(p + i * itemsize, p + (i + 1) * itemsize);
}

uint16_t le16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

uint32_t le32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

void put16(std::string& out, uint32_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}

void put32(std::string& out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

// zlib's crc32 takes an unsigned int length; crc32_z takes a size_t. An empty tensor's data
// pointer may be null, for which zlib returns 0 instead of the running CRC.
uint32_t crc_of(uint32_t crc, const void* data, size_t size) {
  if (size == 0) return crc;
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), size));
}

// ---------------------------------------------------------------------------------------------
// .npy header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), }. A small parser for exactly that shape of literal, not an evaluator.

struct NpyType {
  torch::Dtype dtype;
  size_t itemsize;
  bool big_endian;
};

// The descr's dtype, or false for one we do not read.
bool npy_type(const std::string& descr, NpyType* type) {
  if (descr.size() != 3) return false;
  const char order = descr[0];
  const std::string code = descr.substr(1);
  if (code == "u1" || code == "b1") {
    // One byte has no order: NumPy writes '|', other writers sometimes '<' or '>'.
    if (order != '|' && order != '<' && order != '>') return false;
    *type = {code == "u1" ? torch::kUInt8 : torch::kBool, 1, false};
    return true;
  }
  if (order != '<' && order != '>') return false;
  const bool big = order == '>';
  if (code == "f4")
    *type = {torch::kFloat32, 4, big};
  else if (code == "f8")
    *type = {torch::kFloat64, 8, big};
  else if (code == "i4")
    *type = {torch::kInt32, 4, big};
  else if (code == "i8")
    *type = {torch::kInt64, 8, big};
  else
    return false;
  return true;
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& what) : text_(text), what_(what) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      if (consume('}')) break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() == '[') {
          throw Error(what_ + " holds a structured (record) array, which is not supported; " +
                      "supported dtypes: " + kSupportedDtypes);
        }
        header.descr = string_literal();
        has_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape") {
        header.shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (consume(',')) continue;
      expect('}');
      break;
    }
    if (!has_descr) fail("no 'descr'");
    if (!has_order) fail("no 'fortran_order'");
    if (!has_shape) fail("no 'shape'");
    skip_space();
    if (pos_ != text_.size()) fail("text after the closing brace");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    std::string shown = text_.substr(0, 120);
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.pop_back();
    throw Error(what_ + " has a malformed .npy header (" + why + "): " + shown);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool consume(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("an unterminated string");
    std::string value = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("fortran_order is neither True nor False");
  }
  int64_t integer() {
    skip_space();
    if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("a dimension is not a number");
    int64_t value = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      const int digit = text_[pos_++] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("a dimension overflows");
      value = value * 10 + digit;
    }
    if (peek() == 'L') ++pos_;  // Python 2 wrote long integers as 3L
    return value;
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (true) {
      if (consume(')')) break;
      dims.push_back(integer());
      if (consume(',')) continue;
      expect(')');
      break;
    }
    return dims;
  }

  const std::string& text_;
  const std::string& what_;
  size_t pos_ = 0;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

// A .npy held in memory; `what` names it in errors ("'x.npy'", "'w.npy' in 'm.npz'").
torch::Tensor parse_npy(const unsigned char* bytes, size_t size, const std::string& what) {
  if (size < kNpyMagicSize + 4 || std::memcmp(bytes, kNpyMagic, kNpyMagicSize) != 0) {
    throw Error(what + " is not a .npy file (it does not start with \\x93NUMPY)");
  }
  const int major = bytes[6], minor = bytes[7];
  size_t header_len = 0, preamble = 0;
  if (major == 1 && minor == 0) {
    header_len = le16(bytes + 8);
    preamble = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (size < 12) throw Error(what + " is truncated inside its .npy preamble");
    header_len = le32(bytes + 8);
    preamble = 12;
  } else {
    throw Error(what + " has .npy format version " + std::to_string(major) + "." +
                std::to_string(minor) + "; supported versions: 1.0, 2.0 and 3.0");
  }
  if (header_len > size - preamble) {
    throw Error(what + " is truncated: its .npy header should be " + std::to_string(header_len) +
                " bytes, only " + std::to_string(size - preamble) + " follow");
  }
  const std::string text(reinterpret_cast<const char*>(bytes + preamble), header_len);
  const NpyHeader header = HeaderParser(text, what).parse();
  NpyType type{};
  if (!npy_type(header.descr, &type)) {
    throw Error(what + " holds dtype '" + header.descr +
                "', which is not supported; supported: " + kSupportedDtypes);
  }

  // The header is a claim: check it against the bytes that are there before allocating, so a
  // corrupt or hostile shape is an error instead of an enormous allocation.
  const size_t available = size - preamble - header_len;
  const uint64_t max_count = available / type.itemsize;
  uint64_t count = 1;
  bool too_many = false;
  for (int64_t d : header.shape) {
    if (d == 0) {
      count = 0;
      too_many = false;
      break;
    }
    if (too_many || count > max_count / static_cast<uint64_t>(d))
      too_many = true;
    else
      count *= static_cast<uint64_t>(d);
  }
  if (too_many || count > max_count) {
    throw Error(what + " is truncated: its header says shape " + shape_text(header.shape) + " of " +
                std::to_string(type.itemsize) + "-byte values, but only " +
                std::to_string(available) + " bytes of data follow");
  }

  // Fortran order is C order of the reversed shape; reversing the dims back gives the array.
  std::vector<int64_t> stored = header.shape;
  if (header.fortran_order) std::reverse(stored.begin(), stored.end());
  const auto raw_dtype = type.dtype == torch::kBool ? torch::kUInt8 : type.dtype;
  torch::Tensor tensor = torch::empty(stored, torch::TensorOptions().dtype(raw_dtype));
  if (count > 0) {
    std::memcpy(tensor.data_ptr(), bytes + preamble + header_len, count * type.itemsize);
  }
  if (type.big_endian == host_is_little_endian()) {
    swap_bytes(tensor.data_ptr(), tensor.numel(), type.itemsize);
  }
  // Any nonzero byte is true in NumPy; a torch bool must hold exactly 0 or 1.
  if (type.dtype == torch::kBool) tensor = tensor.ne(0);
  if (header.fortran_order && tensor.dim() > 1) {
    std::vector<int64_t> reversed(tensor.dim());
    for (int64_t i = 0; i < tensor.dim(); ++i) reversed[i] = tensor.dim() - 1 - i;
    tensor = tensor.permute(reversed).contiguous();
  }
  return tensor;
}

// ---------------------------------------------------------------------------------------------
// Writing .npy

// A tensor ready to write: the header bytes and the little-endian C-order data.
struct EncodedNpy {
  std::string header;
  torch::Tensor data;  // contiguous CPU
  size_t data_bytes = 0;
};

const char* npy_descr(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return "<f4";
    case torch::kFloat64:
      return "<f8";
    case torch::kInt32:
      return "<i4";
    case torch::kInt64:
      return "<i8";
    case torch::kUInt8:
      return "|u1";
    case torch::kBool:
      return "|b1";
    default:
      return nullptr;
  }
}

EncodedNpy encode_npy(const torch::Tensor& tensor, const std::string& what) {
  const char* descr = npy_descr(tensor.scalar_type());
  if (!descr) {
    throw Error("cannot write a " + std::string(c10::toString(tensor.scalar_type())) +
                " tensor to " + what + "; .npy files hold float32, float64, int32, int64, uint8 " +
                "or bool tensors (convert it first)");
  }
  EncodedNpy out;
  out.data = tensor.detach().to(torch::kCPU).contiguous();
  if (!host_is_little_endian()) {
    out.data = out.data.clone();
    swap_bytes(out.data.data_ptr(), out.data.numel(), out.data.element_size());
  }
  out.data_bytes = static_cast<size_t>(out.data.numel()) * out.data.element_size();

  std::vector<int64_t> shape(tensor.sizes().begin(), tensor.sizes().end());
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // NumPy pads the header with spaces and a newline so the data starts 64-byte aligned.
  const size_t preamble = dict.size() + 1 + 64 <= 65535 ? 10 : 12;
  const size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict += '\n';
  out.header.assign(kNpyMagic, kNpyMagicSize);
  if (preamble == 10) {
    out.header += '\x01';
    out.header += '\x00';
    put16(out.header, static_cast<uint32_t>(dict.size()));
  } else {
    // Version 2.0 only for a header over 64 KiB (thousands of dimensions).
    out.header += '\x02';
    out.header += '\x00';
    put32(out.header, static_cast<uint32_t>(dict.size()));
  }
  out.header += dict;
  return out;
}

void write_bytes(std::ofstream& out, const void* data, size_t size) {
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void check_written(std::ofstream& out, const std::string& path) {
  out.close();
  if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
}

// ---------------------------------------------------------------------------------------------
// ZIP

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;
constexpr uint16_t kStored = 0, kDeflated = 8;
// 1980-01-01 00:00, the earliest DOS date: fixed so the same tensors give the same archive.
constexpr uint16_t kDosDate = (1 << 5) | 1, kDosTime = 0;

[[noreturn]] void zip64_error(const std::string& path) {
  throw Error("'" + path + "' is a ZIP64 archive (over 4 GiB or 65535 members), which is not " +
              "supported; save the arrays in smaller .npz files");
}

// A raw deflate stream (windowBits -15, no zlib header) of `expected` bytes.
std::string inflate_member(const unsigned char* data, size_t size, size_t expected,
                           const std::string& what) {
  // Deflate expands at most about 1032:1, so a larger claim is corruption, not a reason to
  // allocate.
  if (expected / 1032 > size + 1) {
    throw Error(what + " is corrupt: it claims " + std::to_string(expected) + " bytes from " +
                std::to_string(size) + " compressed bytes");
  }
  z_stream stream{};
  if (inflateInit2(&stream, -15) != Z_OK) throw Error("cannot start zlib to read " + what);
  std::string out(expected, '\0');
  constexpr size_t kChunk = size_t{1} << 30;
  size_t in_left = size, out_pos = 0;
  stream.next_in = const_cast<Bytef*>(data);
  int rc = Z_OK;
  while (rc == Z_OK) {
    const auto in_chunk = static_cast<uInt>(std::min(in_left, kChunk));
    const auto out_chunk = static_cast<uInt>(std::min(expected - out_pos, kChunk));
    stream.avail_in = in_chunk;
    stream.avail_out = out_chunk;
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    rc = inflate(&stream, Z_NO_FLUSH);
    in_left -= in_chunk - stream.avail_in;
    out_pos += out_chunk - stream.avail_out;
  }
  const std::string reason = stream.msg ? stream.msg : "";
  inflateEnd(&stream);
  if (rc != Z_STREAM_END || out_pos != expected) {
    throw Error(what + " is corrupt: its deflate stream " +
                (reason.empty()
                     ? "does not hold the " + std::to_string(expected) + " bytes the archive lists"
                     : "fails (" + reason + ")"));
  }
  return out;
}

}  // namespace

torch::Tensor read_npy(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  return parse_npy(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                   "'" + path + "'");
}

void write_npy(const std::string& path, const torch::Tensor& tensor) {
  const EncodedNpy npy = encode_npy(tensor, "'" + path + "'");
  write_atomic(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
    write_bytes(out, npy.header.data(), npy.header.size());
    write_bytes(out, npy.data.data_ptr(), npy.data_bytes);
    check_written(out, path);
  });
}

NamedTensors read_npz(const std::string& path) {
  const std::string file = read_file_bytes(path);
  const auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
  const size_t size = file.size();
  const std::string quoted = "'" + path + "'";

  // The end record is the last 22 bytes unless the archive has a comment (up to 64 KiB).
  size_t end = std::string::npos;
  if (size >= kEndSize) {
    const size_t lowest = size - kEndSize > 65535 ? size - kEndSize - 65535 : 0;
    for (size_t at = size - kEndSize + 1; at-- > lowest;) {
      if (le32(bytes + at) == kEndSignature) {
        end = at;
        break;
      }
    }
  }
  if (end == std::string::npos) {
    if (size >= 4 && le32(bytes) == kLocalSignature) {
      throw Error(quoted + " is truncated: a ZIP archive without its central directory");
    }
    throw Error(quoted + " is not a .npz file (not a ZIP archive)");
  }
  const uint16_t entries = le16(bytes + end + 10);
  const uint32_t directory_size = le32(bytes + end + 12);
  const uint32_t directory_offset = le32(bytes + end + 16);
  if (entries == 0xffff || directory_size == 0xffffffff || directory_offset == 0xffffffff ||
      (end >= 20 && le32(bytes + end - 20) == kZip64LocatorSignature)) {
    zip64_error(path);
  }
  if (uint64_t{directory_offset} + directory_size > end) {
    throw Error(quoted + " is corrupt: its central directory lies outside the file");
  }

  NamedTensors result;
  size_t at = directory_offset;
  const size_t directory_end = directory_offset + directory_size;
  for (uint16_t i = 0; i < entries; ++i) {
    if (at + kCentralSize > directory_end || le32(bytes + at) != kCentralSignature) {
      throw Error(quoted + " is corrupt: its central directory ends after " + std::to_string(i) +
                  " of " + std::to_string(entries) + " members");
    }
    const uint16_t flags = le16(bytes + at + 8);
    const uint16_t method = le16(bytes + at + 10);
    const uint32_t crc = le32(bytes + at + 16);
    const uint32_t compressed = le32(bytes + at + 20);
    const uint32_t uncompressed = le32(bytes + at + 24);
    const size_t name_len = le16(bytes + at + 28);
    const size_t extra_len = le16(bytes + at + 30);
    const size_t comment_len = le16(bytes + at + 32);
    const uint32_t local = le32(bytes + at + 42);
    if (at + kCentralSize + name_len > directory_end) {
      throw Error(quoted + " is corrupt: a member's name runs past its central directory");
    }
    const std::string member(reinterpret_cast<const char*>(bytes + at + kCentralSize), name_len);
    at += kCentralSize + name_len + extra_len + comment_len;
    const std::string what = "'" + member + "' in " + quoted;
    if (compressed == 0xffffffff || uncompressed == 0xffffffff || local == 0xffffffff) {
      zip64_error(path);
    }
    if (flags & 1) throw Error(what + " is encrypted, which is not supported");
    if (method != kStored && method != kDeflated) {
      throw Error(what + " uses ZIP compression method " + std::to_string(method) +
                  "; supported: stored (numpy.savez) and deflate (numpy.savez_compressed)");
    }
    if (uint64_t{local} + kLocalSize > size || le32(bytes + local) != kLocalSignature) {
      throw Error(what + " is corrupt: its local header is missing");
    }
    const size_t data_at = local + kLocalSize + le16(bytes + local + 26) + le16(bytes + local + 28);
    if (uint64_t{data_at} + compressed > size) {
      throw Error(what + " is truncated: " + std::to_string(compressed) +
                  " bytes listed, fewer in the file");
    }

    std::string inflated;
    const unsigned char* npy = bytes + data_at;
    size_t npy_size = compressed;
    if (method == kDeflated) {
      inflated = inflate_member(npy, compressed, uncompressed, what);
      npy = reinterpret_cast<const unsigned char*>(inflated.data());
      npy_size = inflated.size();
    } else if (compressed != uncompressed) {
      throw Error(what + " is corrupt: stored, yet its sizes differ");
    }
    if (crc_of(0, npy, npy_size) != crc) {
      throw Error(what + " is corrupt: its CRC-32 does not match its data");
    }
    std::string name = member;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) {
      name.resize(name.size() - 4);
    }
    result.emplace_back(name, parse_npy(npy, npy_size, what));
  }
  return result;
}

void write_npz(const std::string& path, const NamedTensors& tensors) {
  const std::string quoted = "'" + path + "'";
  if (tensors.size() > 0xfffe) zip64_error(path);
  std::set<std::string> seen;
  std::vector<EncodedNpy> members;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) throw Error("cannot write an array without a name to " + quoted);
    if (!seen.insert(name).second) {
      throw Error("cannot write two arrays named '" + name + "' to " + quoted);
    }
    members.push_back(encode_npy(tensor, "'" + name + ".npy' in " + quoted));
  }

  write_atomic(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
    std::string directory;
    uint64_t offset = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      const std::string member = tensors[i].first + ".npy";
      const EncodedNpy& npy = members[i];
      const uint64_t member_size = npy.header.size() + npy.data_bytes;
      if (member_size >= 0xffffffff || offset >= 0xffffffff || member.size() > 0xffff) {
        zip64_error(path);
      }
      const uint32_t crc = crc_of(crc_of(0, npy.header.data(), npy.header.size()),
                                  npy.data.data_ptr(), npy.data_bytes);
      // The fields the local header and the central directory entry share.
      std::string common;
      put16(common, 20);  // version needed: 2.0
      put16(common, 0);   // flags
      put16(common, kStored);
      put16(common, kDosTime);
      put16(common, kDosDate);
      put32(common, crc);
      put32(common, static_cast<uint32_t>(member_size));  // compressed
      put32(common, static_cast<uint32_t>(member_size));  // uncompressed
      put16(common, static_cast<uint32_t>(member.size()));
      put16(common, 0);  // extra field length

      std::string local;
      put32(local, kLocalSignature);
      local += common + member;
      write_bytes(out, local.data(), local.size());
      write_bytes(out, npy.header.data(), npy.header.size());
      write_bytes(out, npy.data.data_ptr(), npy.data_bytes);

      put32(directory, kCentralSignature);
      put16(directory, 20);  // made by: version 2.0
      directory += common;
      put16(directory, 0);  // comment length
      put16(directory, 0);  // disk
      put16(directory, 0);  // internal attributes
      put32(directory, 0);  // external attributes
      put32(directory, static_cast<uint32_t>(offset));
      directory += member;
      offset += local.size() + member_size;
    }
    if (offset + directory.size() >= 0xffffffff) zip64_error(path);
    std::string end;
    put32(end, kEndSignature);
    put16(end, 0);  // this disk
    put16(end, 0);  // the directory's disk
    put16(end, static_cast<uint32_t>(members.size()));
    put16(end, static_cast<uint32_t>(members.size()));
    put32(end, static_cast<uint32_t>(directory.size()));
    put32(end, static_cast<uint32_t>(offset));
    put16(end, 0);  // comment length
    write_bytes(out, directory.data(), directory.size());
    write_bytes(out, end.data(), end.size());
    check_written(out, path);
  });
}

}  // namespace perturb
