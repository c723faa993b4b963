// Streaming datasets: a BatchLoader hands parts back in order however its workers finish,
// decodes no further ahead than workers × prefetch, rethrows a worker's error at its part, and a
// streaming dataset's take/shuffle/batches select the rows an in-memory one would.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/core/error.h"
#include "runtime/data/batch_loader.h"

using namespace perturb;

namespace {

// Row r decodes to a 1×1×1 image of value r; odd rows take longer, so workers finish out of
// order. Rows in `unreadable` fail (or are skipped); `decoded` counts the rows decoded so far.
class CountingSource : public SampleSource {
 public:
  CountingSource(int64_t size, int workers, int prefetch, std::vector<int64_t> unreadable = {},
                 bool skip = false)
      : size_(size),
        workers_(workers),
        prefetch_(prefetch),
        unreadable_(std::move(unreadable)),
        skip_(skip) {}
  int64_t size() const override { return size_; }
  std::vector<int64_t> input_shape() const override { return {1, 1, 1}; }
  int workers() const override { return workers_; }
  int prefetch() const override { return prefetch_; }
  DecodedInputs decode(const std::vector<int64_t>& rows) const override {
    DecodedInputs out;
    std::vector<float> values;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i] % 2 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ++decoded;
      if (std::count(unreadable_.begin(), unreadable_.end(), rows[i]) > 0) {
        if (!skip_) throw IoError("row " + std::to_string(rows[i]) + " is unreadable");
        continue;
      }
      values.push_back(static_cast<float>(rows[i]));
      out.kept.push_back(static_cast<int64_t>(i));
    }
    out.x = torch::tensor(values).reshape({-1, 1, 1, 1});
    return out;
  }
  mutable std::atomic<int64_t> decoded{0};

 private:
  int64_t size_;
  int workers_, prefetch_;
  std::vector<int64_t> unreadable_;
  bool skip_;
};

Dataset streaming(std::shared_ptr<const SampleSource> source) {
  Dataset data;
  data.name = "counting";
  data.y = torch::arange(source->size(), torch::kInt64) % 3;
  data.source_rows = torch::arange(source->size(), torch::kInt64);
  data.source = std::move(source);
  return data;
}

}  // namespace

TEST_CASE("a batch loader hands streamed parts back in order") {
  auto source = std::make_shared<CountingSource>(50, /*workers=*/3, /*prefetch=*/2);
  const Dataset data = streaming(source).shuffle(7);
  BatchLoader loader(data.batches(4));
  REQUIRE(loader.count() == 13);
  const auto order = data.source_rows;
  int64_t seen = 0;
  for (int64_t b = 0; b < loader.count(); ++b) {
    const LoadedBatch part = loader.next();
    const auto expected = order.slice(0, 4 * b, std::min<int64_t>(4 * b + 4, 50));
    CHECK(torch::equal(part.data.x.reshape({-1}), expected.to(torch::kFloat32)));
    CHECK(torch::equal(part.data.y, expected % 3));
    CHECK(!part.data.streams());
    seen += part.data.size();
  }
  CHECK(seen == 50);
  CHECK_THROWS_AS(loader.next(), Error);
}

TEST_CASE("a batch loader decodes at most workers × prefetch parts ahead") {
  auto source = std::make_shared<CountingSource>(40, /*workers=*/2, /*prefetch=*/1);
  BatchLoader loader(streaming(source).batches(2));
  loader.next();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The part handed back, and two more (two workers, one part each) ahead: 3 parts of 2 rows.
  CHECK(source->decoded.load() == 6);
}

TEST_CASE("a worker's error comes up at its part, and a skipping source leaves rows out") {
  auto failing = std::make_shared<CountingSource>(12, 2, 2, std::vector<int64_t>{6});
  BatchLoader loader(streaming(failing).batches(4));
  CHECK_NOTHROW(loader.next());
  CHECK_THROWS_WITH(loader.next(), "row 6 is unreadable");

  auto skipping = std::make_shared<CountingSource>(12, 2, 2, std::vector<int64_t>{5, 6}, true);
  BatchLoader skipper(streaming(skipping).batches(4));
  skipper.next();
  const LoadedBatch middle = skipper.next();
  CHECK(torch::equal(middle.kept, torch::tensor({0, 3}, torch::kInt64)));
  CHECK(torch::equal(middle.data.x.reshape({-1}), torch::tensor({4.0f, 7.0f})));
  CHECK(torch::equal(middle.data.y, torch::tensor({1, 1}, torch::kInt64)));
}

TEST_CASE("a streaming dataset selects the rows an in-memory one does") {
  auto source = std::make_shared<CountingSource>(30, 1, 1);
  const Dataset lazy = streaming(source);
  Dataset memory = lazy.in_memory();
  REQUIRE(!memory.streams());
  CHECK(source->decoded.load() == 30);
  const Dataset a = lazy.shuffle(3).take(10).in_memory();
  const Dataset b = memory.shuffle(3).take(10);
  CHECK(torch::equal(a.x, b.x));
  CHECK(torch::equal(a.y, b.y));
  CHECK(lazy.describe() == "counting: 30 images 1×1×1 (streamed), 3 classes");
}
