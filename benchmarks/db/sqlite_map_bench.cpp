// sqlite_map_bench: keel's query-and-map against the same loop written on the sqlite3 C API, and what each
// connection setting (journal mode, synchronous, mmap, statement reuse, a wrapping transaction) costs.
//   build/benchmarks/db/sqlite_map_bench [iterations]        (build Release: -DCMAKE_BUILD_TYPE=Release)
// Prints a Markdown table: ns per point query (SELECT by random id, two int columns mapped to a struct),
// median of 7 runs.
#include <keel/sql/database.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

// Named (not anonymous): reflecting field names needs types with linkage on clang.
namespace map_bench {

struct world {
  std::int32_t id;
  std::int32_t randomNumber;
};

constexpr const char* select_world = "SELECT id, randomNumber FROM World WHERE id = ?";

std::vector<int> random_ids(std::size_t n) {
  std::minstd_rand engine{42};
  std::vector<int> ids(n);
  for (int& id : ids) id = static_cast<int>(engine() % 10000) + 1;
  return ids;
}

double median_ns_per_query(std::size_t iterations, const std::function<std::int64_t()>& loop) {
  std::vector<double> runs;
  std::int64_t sink = 0;
  sink += loop();  // warm-up
  for (int r = 0; r < 7; ++r) {
    auto start = std::chrono::steady_clock::now();
    sink += loop();
    auto elapsed = std::chrono::steady_clock::now() - start;
    runs.push_back(std::chrono::duration<double, std::nano>(elapsed).count() /
                   static_cast<double>(iterations));
  }
  std::sort(runs.begin(), runs.end());
  if (sink == 42) std::puts("");  // keep the work observable
  return runs[runs.size() / 2];
}

void make_file(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix);
  keel::sql::sqlite_options options;
  keel::sql::sqlite_connection c(path, options);
  c.execute_script("CREATE TABLE World (id INTEGER PRIMARY KEY, randomNumber INTEGER NOT NULL); BEGIN");
  std::minstd_rand engine{7};
  for (int i = 1; i <= 10000; ++i)
    keel::sql::detail::execute(c, "INSERT INTO World VALUES (?, ?)", i,
                               static_cast<int>(engine() % 10000) + 1);
  c.execute_script("COMMIT");
}

// The hand-written loop: one prepared statement, bind, step, read two ints, reset.
std::int64_t raw_loop(sqlite3* db, sqlite3_stmt* stmt, const std::vector<int>& ids, bool reprepare) {
  std::int64_t sum = 0;
  for (int id : ids) {
    if (reprepare) sqlite3_prepare_v2(db, select_world, -1, &stmt, nullptr);
    sqlite3_bind_int(stmt, 1, id);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      world w{sqlite3_column_int(stmt, 0), sqlite3_column_int(stmt, 1)};
      sum += w.randomNumber;
    }
    sqlite3_reset(stmt);
    if (reprepare) sqlite3_finalize(stmt);
  }
  return sum;
}

struct setting {
  const char* name;
  const char* journal;
  const char* synchronous;
  std::int64_t mmap;
};

}  // namespace map_bench
using namespace map_bench;

int main(int argc, char** argv) {
  std::size_t iterations = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
  std::string path = (std::filesystem::temp_directory_path() / "keel-sqlite-map-bench.db").string();
  make_file(path);
  auto ids = random_ids(iterations);

  std::printf(
      "| configuration | raw sqlite3 ns/query | keel fetch_one ns/query | keel db.query_one_sync ns/query | "
      "keel / raw |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  const setting settings[] = {
      {"rollback journal, synchronous=FULL, no mmap (SQLite defaults)", "DELETE", "FULL", 0},
      {"WAL, synchronous=NORMAL, no mmap", "WAL", "NORMAL", 0},
      {"WAL, synchronous=NORMAL, mmap 256 MiB (keel default)", "WAL", "NORMAL", 256LL << 20},
  };
  for (const setting& s : settings) {
    keel::sql::sqlite_options options;
    options.journal_mode = s.journal;
    options.synchronous = s.synchronous;
    options.mmap_size = s.mmap;
    keel::sql::db_options db_options;
    db_options.sqlite = options;
    db_options.sqlite_readers = 1;
    keel::db db{"sqlite:" + path, db_options};

    keel::sql::sqlite_connection raw_connection(path, options, true);
    sqlite3* raw = raw_connection.handle();
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v3(raw, select_world, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    double raw_ns = median_ns_per_query(iterations, [&] { return raw_loop(raw, stmt, ids, false); });

    double fetch_ns = db.blocking(keel::sql::access::read, [&](keel::sql::connection& c) {
      return median_ns_per_query(iterations, [&] {
        std::int64_t sum = 0;
        for (int id : ids) sum += keel::sql::detail::fetch_one<world>(c, select_world, id)->randomNumber;
        return sum;
      });
    });
    double db_ns = median_ns_per_query(iterations, [&] {
      std::int64_t sum = 0;
      for (int id : ids) sum += db.query_one_sync<world>(select_world, id)->randomNumber;
      return sum;
    });
    std::printf("| %s | %.0f | %.0f | %.0f | %.2f |\n", s.name, raw_ns, fetch_ns, db_ns, fetch_ns / raw_ns);
    sqlite3_finalize(stmt);
  }

  // Statement reuse and a wrapping transaction, on keel's default settings.
  keel::sql::sqlite_options defaults;
  keel::sql::sqlite_connection c(path, defaults, true);
  double reprepare =
      median_ns_per_query(iterations, [&] { return raw_loop(c.handle(), nullptr, ids, true); });
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v3(c.handle(), select_world, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  double reuse = median_ns_per_query(iterations, [&] { return raw_loop(c.handle(), stmt, ids, false); });
  c.execute_script("BEGIN");
  double in_transaction =
      median_ns_per_query(iterations, [&] { return raw_loop(c.handle(), stmt, ids, false); });
  c.execute_script("COMMIT");
  sqlite3_finalize(stmt);
  // One connection holding the file lock for good: no shared-memory locking per statement, but no other
  // connection (or process) can use the database meanwhile.
  keel::sql::sqlite_connection exclusive(path, defaults, false);
  exclusive.execute_script("PRAGMA locking_mode=EXCLUSIVE");
  sqlite3_prepare_v3(exclusive.handle(), select_world, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  double exclusive_ns =
      median_ns_per_query(iterations, [&] { return raw_loop(exclusive.handle(), stmt, ids, false); });
  sqlite3_finalize(stmt);
  std::printf("\n| keel defaults, raw loop | ns/query |\n|---|---:|\n");
  std::printf("| prepare + finalize every query | %.0f |\n| one cached statement | %.0f |\n", reprepare,
              reuse);
  std::printf("| one cached statement, all queries inside one read transaction | %.0f |\n", in_transaction);
  std::printf("| one cached statement, locking_mode=EXCLUSIVE (single connection) | %.0f |\n", exclusive_ns);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix);
}
