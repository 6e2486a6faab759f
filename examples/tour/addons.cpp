// The README's tour of the add-on headers, compiled (see core.cpp): `// snippet: NAME` regions are README
// blocks. Built where keel::compress (zlib, libbrotli) is.
#include <keel.hpp>
#include <keel/cache.hpp>
#include <keel/compress.hpp>
#include <keel/http_client.hpp>
#include <keel/hub.hpp>
#include <keel/json.hpp>
#include <keel/multipart.hpp>
#include <keel/websocket.hpp>

#include <string>

namespace tour {

struct join {
  std::string room;
  std::string user;
};

namespace websocket {
auto api = keel::router{
    // snippet: websocket
    keel::ws<"/rooms/{room}">(
        [](std::string room, keel::query<join> q, keel::websocket& ws) -> keel::task<> {
          while (auto msg = co_await ws.receive()) {  // text/binary, whole; ends when closed
            if (msg.is_text()) co_await ws.send_text(q->user + "@" + room + ": " + std::string(msg.data));
          }
        },
        keel::ws_options{.subprotocols = {"chat.v1"}, .allowed_origins = {"https://app.example.com"}}),
    // end snippet: websocket
};
}  // namespace websocket

namespace hub {
auto api = keel::router{
    // snippet: hub
    keel::ws<"/ws">([](keel::query<join> q, keel::hub& rooms, keel::websocket& ws) -> keel::task<> {
      keel::hub_subscription sub = rooms.subscribe(q->room, ws);  // room messages join ws's send queue
      while (auto msg = co_await ws.receive()) rooms.publish(q->room, msg.data);
    }),
    keel::get<"/events">([](keel::query<join> q, keel::hub& rooms, keel::event_stream es) -> keel::task<> {
      keel::task<> t =
          rooms.stream(q->room, es);  // Last-Event-ID replay, keepalives, ends when the client goes
      co_await std::move(t);
    }),
    // main(): keel::hub rooms;  keel::app{api}.provide(rooms).serve(...);   the hub outlives serve()
    // end snippet: hub
};
}  // namespace hub

namespace site {
[[maybe_unused]] void serve(const keel::server_config& cfg) {
  // snippet: static_files
  auto api = keel::router{
      keel::get<"/api/hello">([] { return "hi"; }),  // literal routes win over the mount
      keel::static_files<"/">("./public", {.cache_control = {{"*.html", "no-cache"}}, .spa_fallback = true}),
  };
  keel::app{std::move(api)}.use(keel::compress{}, keel::decompress_requests{}).serve(cfg);
  // end snippet: static_files
}
}  // namespace site

namespace uploads {
// snippet: multipart
struct upload_form {
  keel::text<1, 100> title;  // form values: validated like keel::form<T>
  keel::upload file;         // filename (sanitized), content_type, size, path, sha256
  static constexpr auto keel_multipart_limits = keel::multipart_limits{}.file_bytes(50 << 20).hash();
};
auto api = keel::router{
    keel::post<"/upload">([](keel::multipart<upload_form> form) -> keel::task<std::string> {
      co_return form->file.filename + " " + form->file.sha256;  // the file is at form->file.path
    }).body_limit(51 << 20),
};
// main(): app.provide(keel::temp_dir_sink{"/srv/uploads"}), where files go ($TMPDIR by default)

// end snippet: multipart
}  // namespace uploads

namespace outgoing {
struct forecast {
  std::string city;
  double celsius = 0;
};
auto api = keel::router{
    // snippet: http_client
    keel::get<"/weather">([]() -> keel::task<forecast> {
      thread_local keel::http_client client;  // per reactor thread; connections pooled per origin
      keel::client_response r = co_await client.get("https://api.example.com/forecast?city=Bonn");
      co_return r.json<forecast>();  // DTO through keel's JSON reader
    }),
    // end snippet: http_client
};
}  // namespace outgoing

namespace caching {
struct user {
  int id = 0;
  std::string name;
};
keel::task<user> load_user(int id) { co_return user{id, "ada"}; }

[[maybe_unused]] void serve(const keel::server_config& cfg) {
  // snippet: cache
  keel::redis::io_thread redis_io;
  keel::redis::client redis(redis_io.context(), "redis://127.0.0.1:6379/0");
  keel::cache::cache<keel::cache::redis_store> cache{keel::cache::redis_store(redis)};

  auto api = keel::router{
      keel::get<"/users/{id}">([&](int id) -> keel::task<user> {
        auto load = [id]() -> keel::task<user> { co_return co_await load_user(id); };
        std::string key = "user:" + std::to_string(id);
        co_return co_await cache.get_or_compute<user>(key, std::chrono::minutes(5), load);  // computed once
      }),
  };
  // end snippet: cache
  keel::app{std::move(api)}.serve(cfg);
}
}  // namespace caching

}  // namespace tour
