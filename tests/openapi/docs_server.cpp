// A small documented API for the browser test (tests/openapi/run-browser-test): /openapi.json, /docs and a
// few operations with path parameters, DTOs and a raw body. Serves until SIGTERM.
//   docs_server --port 8080      (Swagger UI assets from $KEEL_DOCS_ASSETS)
#include "keel/openapi/docs.hpp"

#include <keel.hpp>

#include "keel/json.hpp"
#include "keel/validate/rules.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

enum class priority { low, normal, high };

struct note {
  static constexpr std::string_view keel_description = "A short note.";
  std::int64_t id = 0;
  keel::text<1, 80> title;
  priority level = priority::normal;
  keel::sized<std::vector<std::string>, 0, 5> tags;
};

std::vector<note> sample_notes() {
  std::vector<note> out(2);
  out[0].id = 1;
  out[0].title = "Buy milk";
  out[0].tags = std::vector<std::string>{"shopping"};
  out[1].id = 2;
  out[1].title = "Call home";
  out[1].level = priority::high;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/notes">([] { return sample_notes(); }),
      keel::get<"/notes/{id}">([](std::int64_t id) -> std::optional<note> {
        for (auto& n : sample_notes())
          if (n.id == id) return n;
        return std::nullopt;
      }),
      keel::del<"/notes/{id}">([](std::int64_t) {}),
      keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
      keel::get<"/health">([] { return "ok"; }),
  };
  auto docs = keel::openapi_docs(
      api, {.info = {.title = "Notes API",
                     .version = "1.0.0",
                     .description = "keel's OpenAPI test app",
                     .operations = {{"GET /notes", {.summary = "List notes", .tags = {"notes"}}},
                                    {"GET /notes/{id}", {.summary = "One note", .tags = {"notes"}}}}}});
  keel::app{std::move(api)}.use(std::move(docs)).serve(keel::server_config::from_args(argc, argv));
}
