// A static site with compression: every file under --root at "/", with what a production file server needs
// (content types, ETag/Last-Modified and 304s, ranges, precompressed .br/.gz siblings, index.html,
// Cache-Control by pattern) and gzip/brotli compression of the dynamic answers.
//
//   build/examples/site --port 8080 --root ./public [--spa] [--io-on-reactor] [--upload-dir DIR]
//   build/examples/site routes | config | openapi | --help      (SITE_ROOT=... works like --root)
//   curl -i --compressed http://127.0.0.1:8080/
//   curl http://127.0.0.1:8080/metrics ; curl -i http://127.0.0.1:8080/readyz
//
// Precompress once at deploy time (`gzip -k -9 app.js; brotli -k app.js`) and the siblings go out instead of
// the file to clients that accept them, without compressing per request.
#include <keel.hpp>
#include <keel/compress.hpp>
#include <keel/health.hpp>
#include <keel/json.hpp>
#include <keel/metrics.hpp>
#include <keel/settings.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

// --- command line (keel/settings.hpp): settings, commands and --help --------------------------------------
// `site --help`, `site routes`, `site config` (the effective settings), `site openapi`; settings come from
// the flags, SITE_<NAME> variables (SITE_ROOT) or --config FILE, and keel's own flags from the same line.
namespace site {  // named: field names are reflected from structs with linkage

struct site_settings {
  std::string root = ".";
  bool spa = false;
  bool io_on_reactor = false;
  std::optional<std::string> upload_dir;  // POST /upload keeps files here (unset: $TMPDIR or /tmp)

  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"root", "directory to serve"},
      {"spa", "serve index.html for unknown paths without an extension"},
      {"io_on_reactor",
       "resolve files on the reactor thread, not the worker pool (the open-file cache's misses; small "
       "hot local sites)"},
      {"upload_dir", "where POST /upload keeps files (default $TMPDIR or /tmp)"},
  };
  static constexpr std::pair<std::string_view, std::string_view> keel_value_names[] = {{"root", "DIR"},
                                                                                       {"upload_dir", "DIR"}};
};

}  // namespace site
// --- end of the command line block ------------------------------------------------------------------------

namespace keel_site {
// Readiness: the served directory can still be listed (a lost mount makes this fail). On the worker pool.
inline keel::task<void> root_readable(const std::string& root) {
  auto probe = [&root] { return ::access(root.c_str(), R_OK | X_OK) == 0; };
  const bool ok = co_await keel::offload(probe);
  if (!ok) throw std::runtime_error("cannot read " + root);
}
}  // namespace keel_site

// --- multipart uploads: POST /upload (fields `title`, 1..100 characters, and `file`, at most 50 MiB) -------
//   curl -F title=Holiday -F file=@photo.jpg http://127.0.0.1:8080/upload
//   -> 201 {"title":"Holiday","filename":"photo.jpg","bytes":123456,"sha256":"..."}
// The file streams to --upload-dir (default $TMPDIR or /tmp) under a fresh keel-upload-XXXXXX name, hashed on
// the way; the client's file name is only reported back, sanitized. A failed upload leaves no file behind.
namespace site_upload {
constexpr std::uint64_t max_file_bytes = std::uint64_t{50} << 20;
struct upload_form {
  keel::text<1, 100> title;
  keel::upload file;
  static constexpr auto keel_multipart_limits =
      keel::multipart_limits{}.file_bytes(max_file_bytes).parts(8).hash();
};
struct uploaded {
  std::string title;
  std::string filename;
  std::uint64_t bytes = 0;
  std::string sha256;
};
inline auto route() {
  return keel::post<"/upload">([](keel::multipart<upload_form> form) -> keel::task<keel::created<uploaded>> {
           co_return keel::created<uploaded>{
               {std::string(*form->title), form->file.filename, form->file.size, form->file.sha256}};
         })
      .body_limit(max_file_bytes + 64 * 1024);  // the file and the form's other bytes
}
}  // namespace site_upload
// --- end of multipart uploads

int main(int argc, char** argv) {
  const auto cli = keel::parse_app_command_line<site::site_settings>(
      argc, argv, {.env_prefix = "SITE_", .about = "A static site with compression.", .migrations = false});
  const std::string& root = cli.settings.root;

  keel::static_files_options files{
      .cache_control =
          {
              {"*.html", "no-cache"},  // pages: always revalidated (a 304 when unchanged)
              {"assets/*", "public, max-age=31536000, immutable"},  // fingerprinted build output
              {"*", "public, max-age=3600"},
          },
      .spa_fallback = cli.settings.spa,
      .offload_io = !cli.settings.io_on_reactor,
      // Text files without a .br/.gz sibling are read into memory below this size and compressed per request.
      .buffer_compressible_below = 256 * 1024,
  };

  if (struct stat st{}; ::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "site: --root %s is not a directory\n", root.c_str());
    return 2;
  }
  // --- operations: GET /metrics (Prometheus), GET /healthz, GET /readyz (docs/operations.md) ---
  keel::metrics metrics;  // the app's outermost layer: counts and times every request
  keel::health health;    // /readyz: 503 while the root is unreadable, and once shutdown begins
  health.check("root", [&root] { return keel_site::root_readable(root); });
  // --- end operations ---

  keel::temp_dir_sink upload_sink{cli.settings.upload_dir.value_or("")};  // multipart uploads
  if (struct stat st{};
      !upload_sink.dir.empty() && (::stat(upload_sink.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    std::fprintf(stderr, "site: --upload-dir %s is not a directory\n", upload_sink.dir.c_str());
    return 2;
  }
  auto api = keel::router{
      // Operational endpoints go here, before the catch-all mount (literal routes win over it anyway).
      keel::health_routes(health),  // operations: GET /healthz, GET /readyz
      site_upload::route(),
      keel::static_files<"/">(root, std::move(files)),
  };
  if (auto status = keel::run_command(cli, api, {.openapi = {.title = "site", .version = "1.0.0"}}))
    return *status;
  keel::app{std::move(api)}
      .use(metrics, keel::compress{}, keel::decompress_requests{})  // metrics first: it times the others
      .provide(upload_sink)                                         // multipart uploads: where files go
      .serve(cli.config);
}
