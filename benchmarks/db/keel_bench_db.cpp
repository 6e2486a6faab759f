// keel_bench_db: the TechEmpower database tests (/db, /queries, /fortunes, /updates) on keel::db.
//   build/benchmarks/db/keel_bench_db --port 8080 --threads 1 [--db sqlite:/tmp/keel-bench.db | --db
//   postgres://...] [--journal WAL|DELETE] [--synchronous NORMAL|FULL|OFF] [--mmap BYTES] [--batch-reads
//   on|off]
// A SQLite file that does not exist yet is created and seeded (World: 10,000 rows, Fortune: the 12 standard
// rows). Each request's queries run in one job on the worker pool (db.with_connection), so a request costs
// one hop off the reactor and back, not one per query; on SQLite the reads of many requests share a hop and a
// read transaction (keel::db's read batching).
#include <keel.hpp>
#include <keel/json/response.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/postgres.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// Named (not anonymous): reflecting field names needs types with linkage on clang.
namespace bench_db {

struct world {
  std::int32_t id;
  std::int32_t randomNumber;
};

// The message borrows its text from the query's result (keel::sql::rows<fortune> owns one buffer for all
// rows' text): one allocation per page instead of one std::string per row.
struct fortune {
  std::int32_t id;
  std::string_view message;
};

std::int32_t random_id() {
  thread_local std::minstd_rand engine{std::random_device{}()};
  return static_cast<std::int32_t>(engine() % 10000) + 1;
}

// TechEmpower: queries=N clamped to 1..500; anything unparsable is 1.
int query_count(std::string_view query) {
  std::size_t at = query.find("queries=");
  if (at == std::string_view::npos) return 1;
  std::string_view value = query.substr(at + 8);
  int n = 1;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{}) return 1;
  return std::clamp(n, 1, 500);
}

// HTML escaping straight into a page buffer sized for the worst case (every byte escaped to six), so no
// append re-checks capacity. Sixteen bytes at a time: each block is copied whole first and kept when it holds
// none of the five specials (nearly all of them); a block that does is rewritten byte by byte over the copy.
// (Earlier versions appended runs to a std::string: the appends and their capacity checks cost as much as the
// scan; before that, find_first_of over the set of five ran one memchr per byte.)
// GCC/Clang vector extension: SSE2 on x86-64, NEON on ARM, plain code elsewhere.
using sixteen_bytes = unsigned char __attribute__((vector_size(16)));

inline bool block_needs_escape(const char* block) {
  sixteen_bytes v;
  std::memcpy(&v, block, sizeof v);
  sixteen_bytes hits = (v == '<') | (v == '>') | (v == '&') | (v == '"') | (v == '\'');
  std::uint64_t halves[2];
  std::memcpy(halves, &hits, sizeof halves);
  return (halves[0] | halves[1]) != 0;
}

constexpr std::size_t max_escaped_size = 6;  // "&quot;" and "&#x27;"

template <std::size_t N>
inline char* put(char* out, const char (&text)[N]) {
  std::memcpy(out, text, N - 1);
  return out + N - 1;
}

inline char* put_escaped(char* out, char c) {
  switch (c) {
    case '<':
      return put(out, "&lt;");
    case '>':
      return put(out, "&gt;");
    case '&':
      return put(out, "&amp;");
    case '"':
      return put(out, "&quot;");
    case '\'':
      return put(out, "&#x27;");
    default:
      *out = c;
      return out + 1;
  }
}

// Writes text escaped at out, which has room for max_escaped_size bytes per input byte.
inline char* put_escaped(char* out, std::string_view text) {
  const char* in = text.data();
  const char* const end = in + text.size();
  for (; end - in >= 16; in += 16) {
    std::memcpy(out, in, 16);
    if (!block_needs_escape(in)) {
      out += 16;
      continue;
    }
    for (int k = 0; k < 16; ++k) out = put_escaped(out, in[k]);
  }
  for (; in != end; ++in) out = put_escaped(out, *in);
  return out;
}

// Quoted alias: PostgreSQL folds unquoted names to lower case, and rows map to fields by name.
constexpr std::string_view select_world =
    "SELECT id, randomNumber AS \"randomNumber\" FROM World WHERE id = ?";
constexpr std::string_view update_world = "UPDATE World SET randomNumber = ? WHERE id = ?";

void seed_if_empty(keel::db& db) {
  bool postgres = db.engine() == keel::sql::engine::postgres;
  db.execute_script_sync(
      postgres ? "CREATE TABLE IF NOT EXISTS World (id INTEGER PRIMARY KEY, randomNumber INTEGER "
                 "NOT NULL DEFAULT 0);"
                 "CREATE TABLE IF NOT EXISTS Fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)"
               : "CREATE TABLE IF NOT EXISTS World (id INTEGER PRIMARY KEY, randomNumber INTEGER NOT "
                 "NULL DEFAULT 0);"
                 "CREATE TABLE IF NOT EXISTS Fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)");
  if (*db.query_one_sync<std::int64_t>("SELECT count(*) FROM World") == 0) {
    db.blocking(keel::sql::access::write, [](keel::sql::connection& c) {
      c.execute_script("BEGIN");
      for (int i = 1; i <= 10000; ++i)
        keel::sql::detail::execute(c, "INSERT INTO World (id, randomNumber) VALUES (?, ?)", i, random_id());
      c.execute_script("COMMIT");
    });
  }
  if (*db.query_one_sync<std::int64_t>("SELECT count(*) FROM Fortune") == 0) {
    const char* messages[] = {
        "fortune: No such file or directory",
        "A computer scientist is someone who fixes things that aren't broken.",
        "After enough decimal places, nobody gives a damn.",
        "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
        "A computer program does what you tell it to do, not what you want it to do.",
        "Emacs is a nice operating system, but I prefer UNIX. \xe2\x80\x94 Tom Christaensen",
        "Any program that runs right is obsolete.",
        "A list is only as strong as its weakest link. \xe2\x80\x94 Donald Knuth",
        "Feature: A bug with seniority.",
        "Computers make very fast, very accurate mistakes.",
        "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
        "\xe3\x83\x95\xe3\x83\xac\xe3\x83\xbc\xe3\x83\xa0\xe3\x83\xaf\xe3\x83\xbc\xe3\x82\xaf\xe3\x81\xae\xe3"
        "\x83\x99\xe3"
        "\x83\xb3\xe3\x83\x81\xe3\x83\x9e\xe3\x83\xbc\xe3\x82\xaf",
    };
    int id = 0;
    for (const char* m : messages)
      db.execute_sync("INSERT INTO Fortune (id, message) VALUES (?, ?)", ++id, m);
  }
}

std::string_view option(int argc, char** argv, std::string_view name, std::string_view fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

// The connection configuration under test: keel's defaults unless a flag says otherwise.
keel::sql::db_options database_options(int argc, char** argv) {
  keel::sql::db_options o;
  o.sqlite.journal_mode = option(argc, argv, "--journal", o.sqlite.journal_mode);
  o.sqlite.synchronous = option(argc, argv, "--synchronous", o.sqlite.synchronous);
  o.sqlite.mmap_size =
      std::stoll(std::string(option(argc, argv, "--mmap", std::to_string(o.sqlite.mmap_size))));
  o.batch_reads = option(argc, argv, "--batch-reads", "on") != "off";
  return o;
}

}  // namespace bench_db
using namespace bench_db;

int main(int argc, char** argv) {
  keel::db db{std::string(option(argc, argv, "--db", "sqlite:/tmp/keel-bench-db.sqlite")),
              database_options(argc, argv)};
  seed_if_empty(db);

  auto api = keel::router{
      keel::get<"/db">([](keel::db& d) -> keel::task<world> {
        auto row = co_await d.query_one<world>(select_world, random_id());
        co_return *row;
      }),
      keel::get<"/queries">([](keel::query_string q, keel::db& d) -> keel::task<std::vector<world>> {
        int n = query_count(q.data);
        // One read transaction around the N queries: SQLite then takes its shared-memory read lock once, not
        // per statement (sqlite_map_bench: ~0.6 instead of ~4.5 us a query).
        auto work = [n](keel::sql::connection& c) {
          std::vector<world> out;
          out.reserve(static_cast<std::size_t>(n));
          c.execute_script("BEGIN");
          struct end_read {
            keel::sql::connection& c;
            ~end_read() {
              try {
                c.execute_script("COMMIT");
              } catch (...) {
              }
            }
          } finish{c};
          for (int i = 0; i < n; ++i)
            out.push_back(*keel::sql::detail::fetch_one<world>(c, select_world, random_id()));
          return out;
        };
        co_return co_await d.with_connection(keel::sql::access::read, work);
      }),
      keel::get<"/fortunes">([](keel::db& d) -> keel::task<keel::response> {
        auto rows = co_await d.query<fortune>("SELECT id, message FROM Fortune");
        rows.push_back({0, "Additional fortune added at request time."});
        // Sorting pointers moves 8 bytes a step instead of a fortune and its string. The scratch vector is
        // this thread's, reused across requests (it keeps no rows between them: TechEmpower forbids that).
        thread_local std::vector<const fortune*> order;
        order.clear();
        for (const fortune& f : rows) order.push_back(&f);
        std::sort(order.begin(), order.end(),
                  [](const fortune* a, const fortune* b) { return a->message < b->message; });
        // The page is written with plain stores into this thread's scratch buffer, sized for the worst case
        // (grown, and zero-filled, only when a page could outgrow it), then copied into the body at its exact
        // size: one allocation, no capacity checks per piece. Nothing is built across a suspension, so
        // requests on this thread cannot interleave in it.
        static constexpr char head[] =
            "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th>"
            "<th>message</th></tr>";
        static constexpr char tail[] = "</table></body></html>";
        static constexpr std::size_t row_markup = sizeof "<tr><td></td><td></td></tr>" - 1 + 11;  // + the id
        std::size_t bound = sizeof head + sizeof tail;
        for (const fortune& f : rows) bound += row_markup + f.message.size() * max_escaped_size;
        thread_local std::string page;
        if (page.size() < bound) page.resize(bound);
        char* out = put(page.data(), head);
        for (const fortune* f : order) {
          out = put(out, "<tr><td>");
          out = std::to_chars(out, out + 11, f->id).ptr;
          out = put(out, "</td><td>");
          out = put_escaped(out, f->message);
          out = put(out, "</td></tr>");
        }
        out = put(out, tail);
        keel::response res;
        res.body_buffer().assign(page.data(), static_cast<std::size_t>(out - page.data()));
        res.content_type("text/html; charset=utf-8");
        co_return res;
      }),
      // Reads and writes of one request run in one transaction on the writer: no other request's update can
      // slip between this request's read and write of a row.
      keel::get<"/updates">([](keel::query_string q, keel::db& d) -> keel::task<std::vector<world>> {
        int n = query_count(q.data);
        auto work = [n](keel::sql::connection& c) {
          std::vector<world> out;
          out.reserve(static_cast<std::size_t>(n));
          c.execute_script(c.engine() == keel::sql::engine::sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
          try {
            for (int i = 0; i < n; ++i) {
              world w = *keel::sql::detail::fetch_one<world>(c, select_world, random_id());
              w.randomNumber = random_id();
              out.push_back(w);
            }
            // A fixed order of row locks keeps concurrent requests on PostgreSQL from deadlocking; stable, so
            // an id drawn twice ends with the value the answer lists last.
            std::vector<world> sorted = out;
            std::stable_sort(sorted.begin(), sorted.end(),
                             [](const world& a, const world& b) { return a.id < b.id; });
            for (const world& w : sorted) keel::sql::detail::execute(c, update_world, w.randomNumber, w.id);
            c.execute_script("COMMIT");
          } catch (...) {
            c.execute_script("ROLLBACK");
            throw;
          }
          return out;
        };
        co_return co_await d.with_connection(keel::sql::access::write, work);
      }),
  };
  keel::app{std::move(api)}.provide(db).serve(keel::server_config::from_args(argc, argv));
}
