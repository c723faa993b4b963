// IDX parsing: plain and gzipped files, the types, and corrupt files named in the errors.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/data/dataset.h"
#include "runtime/data/idx.h"
#include "test_util.h"

using namespace perturb;
using perturb::test::TempDir;

namespace {

// An IDX header: magic 0, 0, type, ndims, then big-endian dims.
std::string idx_header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::string out = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xff);
  }
  return out;
}

std::string bytes_0_to(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += static_cast<char>(i);
  return out;
}

}  // namespace

TEST_CASE("read_idx reads plain and gzipped uint8 files", "[idx]") {
  TempDir dir;
  const std::string content = idx_header(0x08, {3, 2, 2}) + bytes_0_to(12);
  test::write_bytes(dir.path("plain"), content);
  test::write_gzip(dir.path("zipped.gz"), content);
  for (const auto& name : {"plain", "zipped.gz"}) {
    const auto t = read_idx(dir.path(name));
    CAPTURE(name);
    CHECK(t.sizes() == torch::IntArrayRef({3, 2, 2}));
    CHECK(t.scalar_type() == torch::kUInt8);
    CHECK(t[2][1][1].item<int>() == 11);
  }
}

TEST_CASE("read_idx converts big-endian multi-byte types", "[idx]") {
  TempDir dir;
  // int32 258 = 0x00000102 and -1; float32 1.5 = 0x3FC00000.
  test::write_bytes(dir.path("ints"), idx_header(0x0C, {2}) + std::string("\0\0\x01\x02", 4) +
                                          std::string("\xff\xff\xff\xff", 4));
  const auto ints = read_idx(dir.path("ints"));
  CHECK(ints.scalar_type() == torch::kInt32);
  CHECK(ints[0].item<int>() == 258);
  CHECK(ints[1].item<int>() == -1);
  test::write_bytes(dir.path("floats"), idx_header(0x0D, {1}) + std::string("\x3f\xc0\0\0", 4));
  CHECK(read_idx(dir.path("floats"))[0].item<float>() == 1.5f);
}

TEST_CASE("read_idx names the file and the problem", "[idx]") {
  TempDir dir;
  const auto missing = dir.path("missing");
  CHECK_THROWS_AS(read_idx(missing), IoError);
  CHECK_THROWS_WITH(read_idx(missing), "cannot open '" + missing + "': No such file or directory");

  const auto bad_magic = dir.path("bad_magic");
  test::write_bytes(bad_magic, "PK\x03\x04 hello");
  CHECK_THROWS_WITH(read_idx(bad_magic),
                    "'" + bad_magic + "' is not an IDX file (bad magic 0x504B0304)");

  const auto truncated = dir.path("truncated.gz");
  test::write_gzip(truncated, idx_header(0x08, {3, 2, 2}) + bytes_0_to(5));
  CHECK_THROWS_WITH(read_idx(truncated),
                    "'" + truncated + "' is truncated: header says 3×2×2 bytes, found 5");

  const auto garbage = dir.path("garbage.gz");
  test::write_bytes(garbage, std::string("\x1f\x8b") + "this is not deflate data at all");
  CHECK_THROWS_WITH(read_idx(garbage),
                    Catch::StartsWith("'" + garbage + "' is not a valid gzip stream"));
  CHECK_THROWS_AS(read_idx(garbage), Error);

  const auto empty = dir.path("empty");
  test::write_bytes(empty, "");
  CHECK_THROWS_WITH(read_idx(empty), Catch::Contains("is not an IDX file"));
}

TEST_CASE("load_idx_dataset scales images and checks the counts agree", "[idx][dataset]") {
  TempDir dir;
  test::write_bytes(dir.path("images"), idx_header(0x08, {3, 2, 2}) + std::string(12, '\xff'));
  test::write_bytes(dir.path("labels"), idx_header(0x08, {3}) + std::string("\x01\x00\x02", 3));
  test::write_bytes(dir.path("two_labels"), idx_header(0x08, {2}) + std::string("\x01\x00", 2));
  const auto data = load_idx_dataset(dir.path("images"), dir.path("labels"), "tiny");
  CHECK(data.x.sizes() == torch::IntArrayRef({3, 1, 2, 2}));
  CHECK(data.x.scalar_type() == torch::kFloat32);
  CHECK(data.x.max().item<float>() == 1.0f);
  CHECK(data.y.scalar_type() == torch::kInt64);
  CHECK(data.describe() == "tiny: 3 images 1×2×2, 3 classes");
  CHECK(load_idx_dataset(dir.path("images"), dir.path("labels"), "tiny", 2).size() == 2);
  CHECK_THROWS_WITH(load_idx_dataset(dir.path("images"), dir.path("two_labels"), "tiny"),
                    Catch::Contains("has 3 images but") && Catch::Contains("has 2 labels"));
}
