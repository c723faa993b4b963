// Line plots (runtime/report/plot.h): a real PNG of the requested size, atomic, checked input.

#include <catch2/catch.hpp>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "runtime/certify/certificate.h"
#include "runtime/core/error.h"
#include "runtime/report/plot.h"
#include "test_util.h"

using namespace perturb;

TEST_CASE("nice ticks are round numbers covering the range", "[certify]") {
  auto five = nice_ticks(0, 1, 5);
  REQUIRE(five.size() == 6);
  for (size_t i = 0; i < five.size(); ++i) CHECK(five[i] == Approx(0.2 * i));
  auto t = nice_ticks(0, 1.5, 6);
  CHECK(t.front() == 0);
  CHECK(t.back() == Approx(1.5));
  CHECK(t.size() == 7);  // step 0.25
}

TEST_CASE("write_line_plot draws series into a PNG of the requested size", "[certify]") {
  test::TempDir dir;
  PlotSeries a{"sigma 0.25", {0, 0.25, 0.5}, {0.8, 0.6, 0.3}, true};
  PlotSeries b{"sigma 0.5", {0, 0.5, 1}, {0.7, 0.5, 0.2}, false, true};
  PlotOptions o;
  o.title = "Certified accuracy";
  o.x_label = "radius";
  o.y_label = "accuracy";
  o.width = 640;
  o.height = 480;
  o.y_min = 0;
  o.y_max = 1;
  write_line_plot(dir.path("p/plot.png"), {a, b}, o);
  cv::Mat img = cv::imread(dir.path("p/plot.png"));
  REQUIRE_FALSE(img.empty());
  CHECK(img.cols == 640);
  CHECK(img.rows == 480);
  // Something other than white was drawn, in the series' colours (blue of the first series).
  int blue = 0;
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) {
      const auto& p = img.at<cv::Vec3b>(y, x);
      blue += p[0] > 150 && p[2] < 80;
    }
  CHECK(blue > 100);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path("p")),
                      std::filesystem::directory_iterator{}) == 1);
}

TEST_CASE("write_line_plot rejects what it cannot draw", "[certify]") {
  test::TempDir dir;
  CHECK_THROWS_AS(write_line_plot(dir.path("a.png"), {}, {}), Error);
  PlotSeries bad{"bad", {0, 1}, {0.5}};
  CHECK_THROWS_WITH(write_line_plot(dir.path("a.png"), {bad}, {}),
                    Catch::Contains("2 x values but 1 y values"));
  PlotSeries nan{"nan", {0, 1}, {0.5, std::nan("")}};
  CHECK_THROWS_WITH(write_line_plot(dir.path("a.png"), {nan}, {}), Catch::Contains("not finite"));
  CHECK_FALSE(std::filesystem::exists(dir.path("a.png")));
}

TEST_CASE("plot_certificates draws several certificates on one plot", "[certify]") {
  test::TempDir dir;
  Certificate c1, c2;
  c1.method = "Smooth(sigma: 0.25)";
  c2.method = "Smooth(sigma: 0.5)";
  c1.norm = c2.norm = "l2";
  c1.rows = {{0, 1, 1, 0.3, true, 0, 0}, {1, 2, 2, 0.6, true, 0, 0}};
  c2.rows = {{0, 1, 1, 0.9, true, 0, 0}, {1, 2, -1, 0, false, 0, 0}};
  plot_certificates(dir.path("c.png"), {&c1, &c2});
  CHECK_FALSE(cv::imread(dir.path("c.png")).empty());
  CHECK_THROWS_AS(plot_certificates(dir.path("d.png"), {}), Error);
  CHECK_THROWS_AS(plot_certificates(dir.path("d.png"), {&c1}, {"a", "b"}), Error);
}
