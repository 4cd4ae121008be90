// The dashboard's files (daemon/web/), compiled into the binary by daemon/embed_web.cmake.
#pragma once

#include <span>
#include <string_view>

namespace dagminer {

struct WebAsset {
  std::string_view path;          // "/index.html", "/dashboard.js", ...
  std::string_view content_type;  // from the file's extension
  std::string_view body;
};

std::span<const WebAsset> web_assets();

}  // namespace dagminer
