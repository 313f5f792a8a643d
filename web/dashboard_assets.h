// The dashboard page's files (index.html, app.js, app.css and uPlot from npm), compiled into the
// gateway binary so the gateway serves the page itself: no CDN, no files on disk. The bytes are
// generated at build time by web/embed_assets.cmake (after `npm ci` in the build tree).
//
// Threading: immutable static data; call from any thread.
#pragma once

#include <span>
#include <string_view>

namespace tidemark::web {

struct Asset {
  std::string_view path;          // URL path: "/" or "/assets/<name>"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
};

// "/" -> index.html; "/assets/app.js", "/assets/app.css", "/assets/uPlot.iife.min.js",
// "/assets/uPlot.min.css". Exact match on the path (no query string); nullptr when none.
const Asset* FindDashboardAsset(std::string_view path);

// Every asset, in a fixed order.
std::span<const Asset> DashboardAssets();

}  // namespace tidemark::web
