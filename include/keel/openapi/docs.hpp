// keel::openapi_docs: middleware answering GET /openapi.json (the router's OpenAPI document, built once) and
// GET /docs (a Swagger UI page: a pinned version from a CDN, or files from a configured directory).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/http/method.hpp"
#include "keel/http/status.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/openapi/document.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

//   auto api = keel::router{...};
//   auto docs = keel::openapi_docs(api, {.info = {.title = "Todo API", .version = "1.0.0"}});
//   keel::app{std::move(api)}.use(std::move(docs)).serve(cfg);
//
// By default the page loads a pinned Swagger UI (swagger_ui_version) from the jsDelivr CDN, with subresource
// integrity hashes: /docs works out of the box, and a CDN that served other bytes would be refused by the
// browser. Offline, or under a Content-Security-Policy that allows only 'self', serve the files yourself:
// point `assets_dir` (by default $KEEL_DOCS_ASSETS) at the npm package `swagger-ui-dist`'s directory, and
// the page loads them from docs_path + "/assets/". That route serves plain file names only (no '/', no
// '..', no '%'), read per request: the docs are a development aid, not a hot path. Missing files answer 404
// in the app's error shape. scripts/swagger-ui-sri prints the hashes for another version.

namespace keel {
inline namespace v0 {

struct docs_options {
  openapi::info info{};
  std::string spec_path = "/openapi.json";
  std::string docs_path = "/docs";  // the page; its assets are under docs_path + "/assets/"
  std::string assets_dir = [] {
    const char* env = std::getenv("KEEL_DOCS_ASSETS");
    return std::string(env != nullptr ? env : "");
  }();
};

// The Swagger UI the page loads from the CDN when no assets_dir is set, and the sha384 of each file of that
// exact version of the npm package swagger-ui-dist (scripts/swagger-ui-sri computes them).
inline constexpr std::string_view swagger_ui_version = "5.35.0";
inline constexpr std::string_view swagger_ui_cdn = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/";
inline constexpr std::string_view swagger_ui_bundle_integrity =
    "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9";
inline constexpr std::string_view swagger_ui_css_integrity =
    "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I";

namespace detail {

inline std::string_view docs_content_type(std::string_view file) {
  auto ends = [&](std::string_view ext) {
    return file.size() >= ext.size() && file.substr(file.size() - ext.size()) == ext;
  };
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".json") || ends(".map")) return "application/json";
  if (ends(".png")) return "image/png";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// A bare file name: letters, digits, '.', '-', '_', not starting with '.' (so neither ".." nor dotfiles).
inline bool is_plain_file_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 128) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace detail

class openapi_docs {
 public:
  template <class Routes>
  openapi_docs(const router<Routes>& r, docs_options options) : state_(std::make_shared<state>()) {
    state_->document = openapi::document(r, options.info);
    init(std::move(options));
  }
  template <class Router>
  static openapi_docs for_router(docs_options options) {
    openapi_docs d;
    d.state_ = std::make_shared<state>();
    d.state_->document = openapi::document<Router>(options.info);
    d.init(std::move(options));
    return d;
  }

  const std::string& document() const noexcept { return state_->document; }

  flow before(request_context& ctx) const {
    const auto& req = ctx.request();
    if (req.method != http::method::get && req.method != http::method::head) return flow::next;
    const state& s = *state_;
    std::string_view path = req.path;
    auto& res = ctx.response();
    if (path == s.options.spec_path) {
      // Borrowed: the document lives as long as the app holds this middleware.
      res.status(http::status::ok).borrow_body(s.document).content_type("application/json");
      res.header("Cache-Control", "no-cache");
      return flow::respond;
    }
    if (path == s.options.docs_path) {
      res.status(http::status::ok).borrow_body(s.page).content_type("text/html; charset=utf-8");
      return flow::respond;
    }
    if (path == s.initializer_path) {
      res.status(http::status::ok).borrow_body(s.initializer).content_type("text/javascript; charset=utf-8");
      return flow::respond;
    }
    if (path.size() > s.assets_prefix.size() && path.substr(0, s.assets_prefix.size()) == s.assets_prefix) {
      serve_asset(path.substr(s.assets_prefix.size()), ctx);
      return flow::respond;
    }
    return flow::next;
  }

 private:
  struct state {
    docs_options options;
    std::string document;
    std::string page;
    std::string initializer;
    std::string initializer_path;
    std::string assets_prefix;
  };

  openapi_docs() = default;

  void init(docs_options options) {
    state& s = *state_;
    s.options = std::move(options);
    s.assets_prefix = s.options.docs_path + "/assets/";
    s.initializer_path = s.options.docs_path + "/swagger-initializer.js";
    auto html_escape = [](std::string_view text) {
      std::string out;
      for (char c : text) {
        switch (c) {
          case '<':
            out.append("&lt;");
            break;
          case '>':
            out.append("&gt;");
            break;
          case '&':
            out.append("&amp;");
            break;
          case '"':
            out.append("&quot;");
            break;
          default:
            out.push_back(c);
        }
      }
      return out;
    };
    std::string title = html_escape(s.options.info.title);
    std::string spec_link = html_escape(s.options.spec_path);
    // Local files when the app has them, else the pinned CDN copy with its integrity hashes (crossorigin:
    // the browser checks integrity only on CORS requests).
    const bool local = !s.options.assets_dir.empty();
    const std::string css_tag =
        local ? "<link rel=\"stylesheet\" href=\"" + s.assets_prefix + "swagger-ui.css\">\n"
              : "<link rel=\"stylesheet\" href=\"" + std::string(swagger_ui_cdn) +
                    "swagger-ui.css\" integrity=\"" + std::string(swagger_ui_css_integrity) +
                    "\" crossorigin=\"anonymous\">\n";
    const std::string icon_href =
        (local ? s.assets_prefix : std::string(swagger_ui_cdn)) + "favicon-32x32.png";
    const std::string bundle_tag =
        local ? "<script src=\"" + s.assets_prefix + "swagger-ui-bundle.js\"></script>\n"
              : "<script src=\"" + std::string(swagger_ui_cdn) + "swagger-ui-bundle.js\" integrity=\"" +
                    std::string(swagger_ui_bundle_integrity) + "\" crossorigin=\"anonymous\"></script>\n";
    const std::string if_stuck =
        local ? "its files were not found in docs_options::assets_dir ($KEEL_DOCS_ASSETS): point it at the "
                "<code>swagger-ui-dist</code> npm package's directory."
              : "it could not be loaded from cdn.jsdelivr.net (offline?): point KEEL_DOCS_ASSETS (or "
                "docs_options::assets_dir) at the <code>swagger-ui-dist</code> npm package's directory to "
                "serve it locally.";
    // The charset matters: without it Chromium reads the bundle as Latin-1 and the page stays blank. The
    // initializer is a file rather than an inline script so that a strict Content-Security-Policy holds.
    s.page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + title +
             "</title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
             css_tag + "<link rel=\"icon\" type=\"image/png\" href=\"" + icon_href +
             "\">\n</head>\n<body>\n"
             "<div id=\"swagger-ui\"><p style=\"font-family:sans-serif;margin:2em\">Loading Swagger UI... If "
             "this stays, " +
             if_stuck + " The document itself is at <a href=\"" + spec_link + "\">" + spec_link +
             "</a>.</p></div>\n" + bundle_tag + "<script src=\"" + s.initializer_path +
             "\"></script>\n</body>\n</html>\n";
    std::string url;
    keel::detail::append_json_string(url, s.options.spec_path);
    s.initializer =
        "window.onload = function () {\n  if (typeof SwaggerUIBundle === 'undefined') return;\n"
        "  window.ui = SwaggerUIBundle({url: " +
        url + ", dom_id: '#swagger-ui', deepLinking: true});\n};\n";
  }

  void serve_asset(std::string_view name, request_context& ctx) const {
    const state& s = *state_;
    // A 404 like any other: in the app's error shape, with the request id.
    if (!detail::is_plain_file_name(name) || s.options.assets_dir.empty()) {
      ctx.fail(http_error(http::status::not_found));
      return;
    }
    std::string file = s.options.assets_dir;
    if (file.back() != '/') file.push_back('/');
    file.append(name);
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      ctx.fail(http_error(http::status::not_found));
      return;
    }
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto& res = ctx.response();
    res.status(http::status::ok).body(std::move(data)).content_type(detail::docs_content_type(name));
    res.header("Cache-Control", "public, max-age=3600");
  }

  std::shared_ptr<state> state_;
};

}  // namespace v0
}  // namespace keel
