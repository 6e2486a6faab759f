// The SQLite read batcher: one worker wake-up and one read transaction for many coroutines' reads, each
// answer (or exception) delivered to its own coroutine; and keel::db over real sockets with concurrent
// readers and read-modify-write transactions.
#include "keel/sql/read_batch.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "keel/sql/database.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// A fresh database file per test, removed (with its WAL files) afterwards.
struct temp_db_file {
  std::string path;
  explicit temp_db_file(const char* tag) {
    path = (std::filesystem::temp_directory_path() /
            ("keel-read-batch-" + std::string(tag) + "-" + std::to_string(::getpid()) + ".sqlite"))
               .string();
    remove_all();
  }
  ~temp_db_file() { remove_all(); }
  void remove_all() const {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
};

void seed_kv(keel::db& db, int rows) {
  db.execute_script_sync("CREATE TABLE kv (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
  db.blocking(keel::sql::access::write, [rows](keel::sql::connection& c) {
    c.execute_script("BEGIN");
    for (int i = 1; i <= rows; ++i)
      keel::sql::detail::execute(c, "INSERT INTO kv (id, v) VALUES (?, ?)", i, i * 7);
    c.execute_script("COMMIT");
  });
}

keel::sql::db_options readers(unsigned n) {
  keel::sql::db_options options;
  options.sqlite_readers = n;
  return options;
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

}  // namespace

TEST_CASE("reads queued in one event-loop round run as one batch, each answer to its own coroutine",
          "[sql]") {
  temp_db_file file("direct");
  keel::db writer{"sqlite:" + file.path};
  seed_kv(writer, 100);

  keel::sql::sqlite_connection reader(file.path, {}, true);
  keel::sql::connection_slots readers;
  readers.add(&reader);
  keel::sql::detail::read_batcher batcher(readers);

  asio::io_context reactor;
  keel::worker_pool workers(2);
  constexpr int jobs = 40;
  std::vector<std::optional<std::int64_t>> answers(jobs);
  std::vector<std::string> errors(jobs);
  std::vector<bool> on_reactor(jobs, false);
  int finished = 0;
  {
    keel::detail::reactor_scope scope(reactor, &workers);
    const auto reactor_thread = std::this_thread::get_id();
    auto one = [&](int i) -> keel::task<void> {
      // Every 7th job fails; a job in the middle opens and ends its own transaction.
      if (i % 7 == 3) {
        auto fn = [](keel::sql::connection& c) {
          return keel::sql::detail::fetch_one<std::int64_t>(c, "SELECT v FROM no_such_table WHERE id = ?", 1);
        };
        try {
          co_await keel::sql::detail::batched_read(batcher, fn, true, reactor, workers);
        } catch (const keel::sql::sql_error& e) {
          errors[static_cast<std::size_t>(i)] = e.what();
        }
      } else if (i == 20) {
        auto fn = [](keel::sql::connection& c) {
          c.execute_script("BEGIN");
          auto v = keel::sql::detail::fetch_one<std::int64_t>(c, "SELECT sum(v) FROM kv");
          c.execute_script("COMMIT");
          return v;
        };
        answers[20] = *co_await keel::sql::detail::batched_read(batcher, fn, false, reactor, workers);
      } else {
        auto fn = [i](keel::sql::connection& c) {
          return keel::sql::detail::fetch_one<std::int64_t>(c, "SELECT v FROM kv WHERE id = ?", i + 1);
        };
        answers[static_cast<std::size_t>(i)] =
            *co_await keel::sql::detail::batched_read(batcher, fn, true, reactor, workers);
      }
      on_reactor[static_cast<std::size_t>(i)] = std::this_thread::get_id() == reactor_thread;
    };
    for (int i = 0; i < jobs; ++i)
      keel::detail::start_detached(one(i), [&](keel::detail::task_result<void>&& r) {
        if (!r.exception) ++finished;
      });
    reactor.run();  // returns once every job was answered: queued jobs keep it running
  }
  CHECK(finished == jobs);
  CHECK(batcher.batches() == 1);
  CHECK(reader.autocommit());  // the batch's read transaction ended
  for (int i = 0; i < jobs; ++i) {
    const auto k = static_cast<std::size_t>(i);
    CHECK(on_reactor[k]);
    if (i % 7 == 3) {
      CHECK(errors[k].find("no_such_table") != std::string::npos);
      CHECK_FALSE(answers[k].has_value());
    } else if (i == 20) {
      CHECK(answers[k] == 7 * 100 * 101 / 2);
    } else {
      CHECK(errors[k].empty());
      CHECK(answers[k] == (i + 1) * 7);
    }
  }
}

TEST_CASE("a later batch sees what was committed before its jobs were queued", "[sql]") {
  temp_db_file file("fresh");
  keel::db db{"sqlite:" + file.path, readers(1)};
  seed_kv(db, 3);
  asio::io_context reactor;
  keel::worker_pool workers(2);
  std::vector<std::int64_t> seen;
  {
    keel::detail::reactor_scope scope(reactor, &workers);
    auto steps = [&]() -> keel::task<void> {
      for (int round = 1; round <= 5; ++round) {
        co_await db.execute("UPDATE kv SET v = ? WHERE id = 1", round * 100);
        seen.push_back(*co_await db.query_one<std::int64_t>("SELECT v FROM kv WHERE id = 1"));
      }
    };
    keel::detail::start_detached(steps(), [](keel::detail::task_result<void>&&) {});
    reactor.run();
  }
  CHECK(seen == std::vector<std::int64_t>{100, 200, 300, 400, 500});
}

TEST_CASE(
    "over real sockets: concurrent reads get their own answers, errors stay with their request, "
    "concurrent read-modify-write transactions lose no update",
    "[sql]") {
  temp_db_file file("server");
  keel::db db{"sqlite:" + file.path, readers(2)};
  seed_kv(db, 50);
  db.execute_script_sync(
      "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
      "INSERT INTO counter (id, n) VALUES (1, 0), (2, 0), (3, 0), (4, 0)");
  auto app = keel::app{
      keel::router{
          keel::get<"/kv/{id}">([](int id, keel::db& d) -> keel::task<std::string> {
            auto v = co_await d.query_one<std::int64_t>("SELECT v FROM kv WHERE id = ?", id);
            co_return v ? std::to_string(*v) : std::string("none");
          }),
          keel::get<"/bad/{id}">([](int id, keel::db& d) -> keel::task<std::string> {
            try {
              co_await d.query_one<std::int64_t>("SELECT v FROM kv WHERE idd = ?", id);
              co_return "no error";
            } catch (const keel::sql::sql_error&) {
              co_return "error " + std::to_string(id);
            }
          }),
          // Reads two counters and writes them back incremented, in one transaction.
          keel::get<"/bump/{a}/{b}">([](int a, int b, keel::db& d) -> keel::task<std::string> {
            co_await d.transact([a, b](keel::sql::transaction& tx) -> keel::task<void> {
              for (int id : {a, b}) {
                auto n = co_await tx.query_one<std::int64_t>("SELECT n FROM counter WHERE id = ?", id);
                co_await tx.execute("UPDATE counter SET n = ? WHERE id = ?", *n + 1, id);
              }
            });
            co_return "ok";
          }),
      }}.provide(db);
  keel::server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.threads = cfg.workers = 2;  // two reactors: one batch answers both
  cfg.handle_signals = false;
  keel::detail::server<decltype(app)> server(app, cfg);
  const auto port = server.start();

  constexpr int clients = 8;
  constexpr int rounds = 40;
  std::atomic<int> wrong{0};
  std::atomic<int> bumps{0};
  std::vector<std::string> first_wrong(clients);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      keel_test::raw_client client("127.0.0.1", port);
      auto expect = [&](const std::string& path, const std::string& body) {
        const std::string request = "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n";
        if (!client.send(request)) {
          ++wrong;
          return;
        }
        const std::string got = body_of(client.read_responses(1));
        if (got != body) {
          if (wrong++ == 0 || first_wrong[static_cast<std::size_t>(t)].empty())
            first_wrong[static_cast<std::size_t>(t)] = path + " -> '" + got + "' (expected '" + body + "')";
        }
      };
      for (int r = 0; r < rounds; ++r) {
        const int id = (t * rounds + r) % 50 + 1;
        expect("/kv/" + std::to_string(id), std::to_string(id * 7));
        if (r % 5 == 0) expect("/bad/" + std::to_string(id), "error " + std::to_string(id));
        if (r % 4 == 0) {
          const int a = (t + r) % 4 + 1;
          expect("/bump/" + std::to_string(a) + "/" + std::to_string(a % 4 + 1), "ok");
          bumps += 2;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  server.stop();
  server.wait();
  for (const auto& w : first_wrong)
    if (!w.empty()) UNSCOPED_INFO(w);
  CHECK(wrong.load() == 0);
  CHECK(db.query_one_sync<std::int64_t>("SELECT sum(n) FROM counter") == bumps.load());
}

TEST_CASE("stop() while a batch is running: the batch finishes, its request is answered, the server exits",
          "[sql]") {
  temp_db_file file("stop");
  keel::db db{"sqlite:" + file.path, readers(1)};
  seed_kv(db, 5);
  static std::atomic<bool> started{false};
  started = false;
  auto app = keel::app{
      keel::router{
          keel::get<"/slow/{id}">([](int id, keel::db& d) -> keel::task<std::string> {
            auto work = [id](keel::sql::connection& c) {
              started = true;
              std::this_thread::sleep_for(std::chrono::milliseconds(200));
              return keel::sql::detail::fetch_one<std::int64_t>(c, "SELECT v FROM kv WHERE id = ?", id);
            };
            auto v = co_await d.with_connection(keel::sql::access::read, work);
            co_return std::to_string(*v);
          }),
      }}.provide(db);
  keel::server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.threads = cfg.workers = 1;
  cfg.handle_signals = false;
  keel::detail::server<decltype(app)> server(app, cfg);
  const auto port = server.start();
  keel_test::raw_client client("127.0.0.1", port);
  REQUIRE(client.send("GET /slow/3 HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(keel_test::eventually([] { return started.load(); }));
  server.stop();
  std::string out;
  CHECK(client.read_until_closed(&out));
  CHECK(body_of(out) == "21");
  server.wait();
}
