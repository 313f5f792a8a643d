// The embedded dashboard: every served path is there, byte-identical to its source file, with
// the right content type, and index.html names every asset it needs.
#include "web/dashboard_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tidemark::web {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(DashboardAssets, ServesEveryPathOnce) {
  for (const char* path : {"/", "/assets/app.js", "/assets/app.css", "/assets/uPlot.iife.min.js",
                           "/assets/uPlot.min.css"}) {
    const Asset* asset = FindDashboardAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_EQ(asset->path, path);
    EXPECT_FALSE(asset->body.empty()) << path;
  }
  EXPECT_EQ(DashboardAssets().size(), 5u);
}

TEST(DashboardAssets, UnknownPathsAreNull) {
  EXPECT_EQ(FindDashboardAsset("/index.html"), nullptr);
  EXPECT_EQ(FindDashboardAsset("/assets/"), nullptr);
  EXPECT_EQ(FindDashboardAsset("/assets/app.js?v=1"), nullptr);
  EXPECT_EQ(FindDashboardAsset(""), nullptr);
}

TEST(DashboardAssets, ContentTypes) {
  EXPECT_EQ(FindDashboardAsset("/")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(FindDashboardAsset("/assets/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(FindDashboardAsset("/assets/uPlot.min.css")->content_type, "text/css; charset=utf-8");
}

// Compares without printing whole files when they differ.
void ExpectSameBytes(const char* path, const std::string& file) {
  const std::string_view body = FindDashboardAsset(path)->body;
  EXPECT_EQ(body.size(), file.size()) << path;
  EXPECT_TRUE(body == file) << path << " differs from its source file (rebuild?)";
}

TEST(DashboardAssets, BytesMatchTheSourceFiles) {
  const std::string dir = TIDEMARK_DASHBOARD_DIR;
  ExpectSameBytes("/assets/app.js", ReadFile(dir + "/app.js"));
  ExpectSameBytes("/assets/app.css", ReadFile(dir + "/app.css"));
  const std::string dist = TIDEMARK_UPLOT_DIST;
  const std::string uplot = ReadFile(dist + "/uPlot.iife.min.js");
  ASSERT_GT(uplot.size(), 10000u);
  ExpectSameBytes("/assets/uPlot.iife.min.js", uplot);
  ExpectSameBytes("/assets/uPlot.min.css", ReadFile(dist + "/uPlot.min.css"));
}

TEST(DashboardAssets, IndexNamesEveryAssetWithAVersion) {
  const std::string_view html = FindDashboardAsset("/")->body;
  for (const char* name : {"app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css"}) {
    const std::string ref = std::string("/assets/") + name + "?v=";
    const auto at = html.find(ref);
    ASSERT_NE(at, std::string_view::npos) << name;
    EXPECT_NE(html.substr(at + ref.size(), 3), "dev") << name << ": the build stamps a version";
  }
  EXPECT_EQ(html.find("http://"), std::string_view::npos) << "no CDN";
  EXPECT_EQ(html.find("https://"), std::string_view::npos) << "no CDN";
}

}  // namespace
}  // namespace tidemark::web
