// A documented multipart route for the browser test (tests/multipart_browser/run): /openapi.json, /docs and
// POST /photos (a title and a file, stored under $TMPDIR). Serves until SIGTERM.
//   multipart_docs_server --port 8080      (Swagger UI assets from $KEEL_DOCS_ASSETS)
#include "keel/openapi/docs.hpp"

#include <keel.hpp>

#include "keel/json.hpp"
#include "keel/validate/rules.hpp"

#include <cstdint>
#include <string>

namespace multipart_docs {

struct photo_form {
  keel::text<1, 100> title;
  keel::upload file;
  static constexpr auto keel_multipart_limits = keel::multipart_limits{}.file_bytes(1 << 20).hash();
};

struct photo {
  std::string title;
  std::string filename;
  std::uint64_t bytes = 0;
  std::string sha256;
};

}  // namespace multipart_docs

int main(int argc, char** argv) {
  using multipart_docs::photo;
  auto api = keel::router{
      keel::post<"/photos">([](keel::multipart<multipart_docs::photo_form> f)
                                -> keel::task<keel::created<photo>> {
        co_return keel::created<photo>{
            {std::string(*f->title), f->file.filename, f->file.size, f->file.sha256}};
      }).body_limit(2 << 20),
  };
  auto docs = keel::openapi_docs(api, {.info = {.title = "Photos API", .version = "1.0.0"}});
  keel::app{std::move(api)}.use(std::move(docs)).serve(keel::server_config::from_args(argc, argv));
}
