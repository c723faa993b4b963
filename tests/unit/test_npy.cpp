// NumPy formats: .npy round trips of each dtype, Fortran order, big endian, corrupt headers named
// in the errors, and .npz archives both stored and deflated.
#include <zlib.h>

#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/data/npy.h"
#include "test_util.h"

using namespace perturb;
using perturb::test::TempDir;

namespace {

// A version 1.0 .npy: the magic, the header dict padded to 64 bytes, then `data`.
std::string npy_bytes(const std::string& dict, const std::string& data, char major = 1) {
  std::string header = dict;
  const size_t preamble = major == 1 ? 10 : 12;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + major + '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  if (major != 1) out += std::string(2, '\0');
  return out + header + data;
}

std::string le_floats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

void put16(std::string& out, uint32_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}

void put32(std::string& out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

// A one-member ZIP archive whose member is deflated, as numpy.savez_compressed writes.
std::string deflated_zip(const std::string& name, const std::string& content) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) ==
          Z_OK);
  std::string packed(deflateBound(&stream, content.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  stream.avail_in = static_cast<uInt>(content.size());
  stream.next_out = reinterpret_cast<Bytef*>(packed.data());
  stream.avail_out = static_cast<uInt>(packed.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  packed.resize(stream.total_out);
  deflateEnd(&stream);
  const uint32_t crc =
      crc32(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size()));

  std::string common;
  put16(common, 20);
  put16(common, 0);
  put16(common, 8);  // deflate
  put16(common, 0);
  put16(common, 33);
  put32(common, crc);
  put32(common, static_cast<uint32_t>(packed.size()));
  put32(common, static_cast<uint32_t>(content.size()));
  put16(common, static_cast<uint32_t>(name.size()));
  put16(common, 0);
  std::string zip;
  put32(zip, 0x04034b50);
  zip += common + name + packed;
  const size_t directory_at = zip.size();
  std::string directory;
  put32(directory, 0x02014b50);
  put16(directory, 20);
  directory += common;
  for (int i = 0; i < 3; ++i) put16(directory, 0);  // comment length, disk, internal attributes
  put32(directory, 0);                              // external attributes
  put32(directory, 0);                              // local header at 0
  directory += name;
  zip += directory;
  put32(zip, 0x06054b50);
  put32(zip, 0);
  put16(zip, 1);
  put16(zip, 1);
  put32(zip, static_cast<uint32_t>(directory.size()));
  put32(zip, static_cast<uint32_t>(directory_at));
  put16(zip, 0);
  return zip;
}

}  // namespace

TEST_CASE("write_npy and read_npy round-trip each dtype", "[npy]") {
  TempDir dir;
  const std::vector<torch::Tensor> tensors = {
      torch::arange(6, torch::kFloat32).reshape({2, 3}) / 4,
      torch::arange(6, torch::kFloat64).reshape({3, 2}) / 3,
      torch::arange(250, 256, torch::kInt64).to(torch::kUInt8),
      torch::tensor({-(int64_t{1} << 40), int64_t{7}}),
      torch::tensor({-5, 2147483647}, torch::kInt32),
      torch::tensor({true, false, true}),
      torch::tensor(3.5),    // 0-d
      torch::zeros({0, 4}),  // empty
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    CAPTURE(i);
    const std::string path = dir.path("t" + std::to_string(i) + ".npy");
    write_npy(path, tensors[i]);
    const torch::Tensor back = read_npy(path);
    CHECK(back.scalar_type() == tensors[i].scalar_type());
    CHECK(back.sizes() == tensors[i].sizes());
    CHECK(torch::equal(back, tensors[i]));
  }
  // NumPy aligns the data to 64 bytes; numpy.load reads the same header (tests/data checks).
  const std::string text = test::read_text(dir.path("t0.npy"));
  CHECK((text.size() - 24) % 64 == 0);
  CHECK(text.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") != text.npos);
}

TEST_CASE("write_npy refuses dtypes NumPy files here do not hold", "[npy]") {
  TempDir dir;
  CHECK_THROWS_WITH(write_npy(dir.path("h.npy"), torch::zeros({2}, torch::kFloat16)),
                    Catch::Contains("Half tensor") && Catch::Contains("float32, float64"));
}

TEST_CASE("read_npy reads Fortran order, big endian and version 2.0 headers", "[npy]") {
  TempDir dir;
  // Fortran order: the 2×3 array [[0, 1, 2], [3, 4, 5]] is stored column by column.
  test::write_bytes(dir.path("f.npy"),
                    npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                              le_floats({0, 3, 1, 4, 2, 5})));
  CHECK(
      torch::equal(read_npy(dir.path("f.npy")), torch::arange(6, torch::kFloat32).reshape({2, 3})));
  // Big endian: 1.5f is 0x3FC00000, int64 258 is 0x...0102.
  test::write_bytes(dir.path("b.npy"),
                    npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                              std::string("\x3f\xc0\0\0", 4)));
  CHECK(read_npy(dir.path("b.npy")).item<float>() == 1.5f);
  test::write_bytes(dir.path("i.npy"),
                    npy_bytes("{'descr': '>i8', 'fortran_order': False, 'shape': (), }",
                              std::string("\0\0\0\0\0\0\x01\x02", 8)));
  CHECK(read_npy(dir.path("i.npy")).item<int64_t>() == 258);
  test::write_bytes(dir.path("v2.npy"),
                    npy_bytes("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}",
                              le_floats({1, 2}), /*major=*/2));
  CHECK(torch::equal(read_npy(dir.path("v2.npy")), torch::tensor({1.0f, 2.0f})));
}

TEST_CASE("read_npy names the file and the problem", "[npy]") {
  TempDir dir;
  const auto path = dir.path("x.npy");
  test::write_bytes(path, "PK\3\4 not numpy at all");
  CHECK_THROWS_WITH(read_npy(path), Catch::Contains(path) && Catch::Contains("is not a .npy file"));

  test::write_bytes(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
                                    le_floats({1, 2})));
  CHECK_THROWS_WITH(read_npy(path), Catch::Contains("is truncated") && Catch::Contains("(4,)") &&
                                        Catch::Contains("8 bytes"));

  // A header claiming 10^12 elements is an error before any allocation.
  test::write_bytes(
      path, npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }",
                      le_floats({1, 2})));
  CHECK_THROWS_WITH(read_npy(path),
                    Catch::Contains("is truncated") && Catch::Contains("(1000000, 1000000)"));
  // Dimensions whose product overflows 64 bits are the same error.
  test::write_bytes(path, npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': "
                                    "(4294967296, 4294967296, 4294967296), }",
                                    ""));
  CHECK_THROWS_WITH(read_npy(path), Catch::Contains("is truncated"));

  test::write_bytes(path, npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                                    std::string(8, '\0')));
  CHECK_THROWS_WITH(read_npy(path),
                    Catch::Contains("dtype '<c8'") && Catch::Contains("supported: float32"));

  test::write_bytes(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': 4, }", ""));
  CHECK_THROWS_WITH(read_npy(path), Catch::Contains("malformed .npy header"));
  test::write_bytes(path, npy_bytes("{'descr': '<f4', 'shape': (1,), }", le_floats({1})));
  CHECK_THROWS_WITH(read_npy(path), Catch::Contains("malformed .npy header (no 'fortran_order')"));

  CHECK_THROWS_AS(read_npy(dir.path("missing.npy")), IoError);
}

TEST_CASE("write_npz and read_npz round-trip stored members in order", "[npy]") {
  TempDir dir;
  const NamedTensors tensors = {{"weights", torch::arange(12, torch::kFloat32).reshape({3, 4})},
                                {"labels", torch::tensor({2, 0, 1})},
                                {"empty", torch::zeros({0}, torch::kUInt8)}};
  write_npz(dir.path("a.npz"), tensors);
  const NamedTensors back = read_npz(dir.path("a.npz"));
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].first == tensors[i].first);
    CHECK(torch::equal(back[i].second, tensors[i].second));
  }
  CHECK_THROWS_WITH(write_npz(dir.path("b.npz"), {{"a", torch::zeros(1)}, {"a", torch::ones(1)}}),
                    Catch::Contains("two arrays named 'a'"));
}

TEST_CASE("read_npz inflates deflated members and checks CRCs", "[npy]") {
  TempDir dir;
  const std::string npy =
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", le_floats({1, 2, 3}));
  test::write_bytes(dir.path("c.npz"), deflated_zip("x.npy", npy));
  const NamedTensors back = read_npz(dir.path("c.npz"));
  REQUIRE(back.size() == 1);
  CHECK(back[0].first == "x");
  CHECK(torch::equal(back[0].second, torch::tensor({1.0f, 2.0f, 3.0f})));

  // One flipped byte in the stored data fails the CRC-32.
  write_npz(dir.path("s.npz"), {{"x", torch::ones(4)}});
  std::string bytes = test::read_text(dir.path("s.npz"));
  bytes[40 + 64 + 2] ^= 1;  // inside the data: 30-byte local header + "x.npy", 64-byte header
  test::write_bytes(dir.path("s.npz"), bytes);
  CHECK_THROWS_WITH(read_npz(dir.path("s.npz")),
                    Catch::Contains("'x.npy' in") && Catch::Contains("CRC-32"));

  test::write_bytes(dir.path("n.npz"), "not a zip");
  CHECK_THROWS_WITH(read_npz(dir.path("n.npz")), Catch::Contains("is not a .npz file"));
}
