// Core utilities: atomic writes, generators, devices, JSON, progress.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "runtime/core/atomic_file.h"
#include "runtime/core/device.h"
#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/report/csv.h"
#include "runtime/report/format.h"
#include "runtime/report/json.h"
#include "test_util.h"

using namespace perturb;
namespace fs = std::filesystem;

namespace {

size_t count_files(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("write_file_atomic writes, replaces and creates directories", "[core]") {
  test::TempDir dir;
  const auto path = dir.path("a/b/out.txt");
  write_file_atomic(path, "first");
  CHECK(test::read_text(path) == "first");
  write_file_atomic(path, "second");
  CHECK(test::read_text(path) == "second");
  CHECK(count_files(dir.root() / "a/b") == 1);
}

TEST_CASE("a failing writer leaves the old file and no temp file", "[core]") {
  test::TempDir dir;
  const auto path = dir.path("out.txt");
  write_file_atomic(path, "old");
  auto failing = [](const std::string& temp) {
    std::ofstream(temp) << "half written";
    throw Error("writer failed");
  };
  CHECK_THROWS_WITH(write_atomic(path, failing), "writer failed");
  CHECK(test::read_text(path) == "old");
  CHECK(count_files(dir.root()) == 1);
}

TEST_CASE("write_file_atomic names the path when it cannot write", "[core]") {
  test::TempDir dir;
  test::write_bytes(dir.path("file"), "x");
  const auto path = dir.path("file/inside.txt");  // a parent that is a file
  CHECK_THROWS_AS(write_file_atomic(path, "y"), IoError);
  CHECK_THROWS_WITH(write_file_atomic(path, "y"), Catch::Contains(dir.path("file")));
}

TEST_CASE("generators are reproducible and next_seed derives fresh seeds", "[core]") {
  auto a = make_generator(1), b = make_generator(1), c = make_generator(2);
  CHECK(torch::equal(torch::randn({8}, a), torch::randn({8}, b)));
  CHECK_FALSE(torch::equal(torch::randn({8}, a), torch::randn({8}, c)));
  auto d = make_generator(1), e = make_generator(1);
  const uint64_t s1 = next_seed(d), s2 = next_seed(d);
  CHECK(s1 == next_seed(e));
  CHECK(s1 != s2);
  CHECK(s1 < (uint64_t{1} << 63));
}

TEST_CASE("device parsing", "[core]") {
  CHECK(parse_device("cpu") == torch::Device(torch::kCPU));
  CHECK_THROWS_AS(parse_device("tpu"), Error);
  if (!torch::cuda::is_available()) {
    CHECK_THROWS_WITH(parse_device("cuda"),
                      "CUDA was requested but this LibTorch build has no CUDA device");
    CHECK(default_device() == torch::Device(torch::kCPU));
  }
  set_default_device(torch::kCPU);
  CHECK(default_device() == torch::Device(torch::kCPU));
}

TEST_CASE("JSON and number formatting", "[core]") {
  CHECK(json::dump("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  CHECK(json::dump(json::number(0.1)) == "0.1");
  CHECK(json::dump(json::number(1.0 / 3)) == "0.3333333333333333");
  CHECK(json::dump(json::number(0.5)) == "0.5");
  CHECK(json::dump(int64_t{42}) == "42");
  CHECK(json::number(std::nan("")).is_null());
  CHECK(json::dump({json::number(INFINITY), json::number(-INFINITY)}) == "[null,null]");
  // Members in insertion order; UTF-8 written as is; a bad byte replaced, not thrown.
  CHECK(json::dump({{"z", 1}, {"a", "\u00e9"}}) == "{\"z\":1,\"a\":\"\u00e9\"}");
  CHECK(json::dump("a\xff") == "\"a\xEF\xBF\xBD\"");
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(2.0) == "2");
  CHECK(format_number(1.0 / 3) == "0.333333");
  CHECK(format_shape({4, 3, 28, 28}) == "[4, 3, 28, 28]");
}

TEST_CASE("CSV fields and tables (RFC 4180)", "[core]") {
  CHECK(csv::field("plain text") == "plain text");
  CHECK(csv::field("a,b") == "\"a,b\"");
  CHECK(csv::field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv::field("two\nlines") == "\"two\nlines\"");
  CHECK(csv::table({"a", "b"}, {{"1", ""}, {"x,y", "2"}}) == "a,b\r\n1,\r\n\"x,y\",2\r\n");
  CHECK(csv::table({"a"}, {{""}}) == "a\r\n\"\"\r\n");  // an empty line would be no row
  CHECK(csv::table({}, {{"1", "2"}}) == "1,2\r\n");
  CHECK(csv::number(0.1) == "0.1");
  CHECK(csv::number(3.0) == "3");
  CHECK(csv::number(1e300) == "1e+300");
  CHECK(csv::number(std::nan("")) == "nan");
  CHECK(csv::number(-INFINITY) == "-inf");
  CHECK(csv::number(int64_t{-7}) == "-7");
}

TEST_CASE("Progress is silent and safe when stderr is not a terminal", "[core]") {
  Progress progress("work", 10);
  progress.advance(4, "status");
  progress.advance(100);
  progress.finish();
  progress.finish();
  SUCCEED();
}
