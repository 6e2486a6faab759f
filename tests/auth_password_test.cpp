// keel::auth password hashing: Argon2id PHC strings, verify/mismatch/needs_rehash, the dummy hash for unknown
// users, and the awaitable API in a real server: the hash runs on a worker thread while the reactor keeps
// answering, and the handler resumes on its reactor thread.
#include "keel/auth/password.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace keel::auth;
using keel_test::run_command;

namespace {

// Cheap parameters for most tests (the defaults are exercised once).
const password_params cheap{.time_cost = 1, .memory_kib = 8 * 1024};

std::mutex observed_mutex;
std::vector<std::thread::id> observed;  // threads the hashing ran on
std::atomic<bool> slow_started{false};
std::atomic<bool> slow_finished{false};
const password_params slow{.time_cost = 8, .memory_kib = 64 * 1024};
std::string slow_hash;  // made before the server starts

void record(std::thread::id id) {
  std::lock_guard lock(observed_mutex);
  observed.push_back(id);
  slow_started = true;
}

struct observe_scope {
  observe_scope() {
    std::lock_guard lock(observed_mutex);
    observed.clear();
    slow_started = false;
    keel::auth::detail::password_work_observer = &record;
  }
  ~observe_scope() { keel::auth::detail::password_work_observer = nullptr; }
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(observed_mutex);
    return observed;
  }
};

}  // namespace

TEST_CASE("hash_password_sync makes an Argon2id PHC string with OWASP's defaults", "[auth][password]") {
  const std::string hash = hash_password_sync("correct horse battery staple");
  // $argon2id$v=19$m=19456,t=2,p=1$<16-byte salt, base64 without padding>$<32-byte hash>
  static const std::regex phc(R"(^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$)");
  CHECK(std::regex_match(hash, phc));
  CHECK(hash != hash_password_sync("correct horse battery staple"));  // a fresh salt each time
  CHECK(verify_password_sync("correct horse battery staple", hash).status == password_status::ok);
  CHECK_FALSE(needs_rehash(hash));
}

TEST_CASE("verify: ok, mismatch, needs_rehash after a parameter change, invalid hashes", "[auth][password]") {
  const std::string hash = hash_password_sync("hunter2", cheap);
  CHECK(hash.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
  auto ok = verify_password_sync("hunter2", hash, cheap);
  CHECK(ok.status == password_status::ok);
  CHECK(static_cast<bool>(ok));
  CHECK_FALSE(ok.needs_rehash());
  auto wrong = verify_password_sync("hunter3", hash, cheap);
  CHECK(wrong.status == password_status::mismatch);
  CHECK_FALSE(static_cast<bool>(wrong));
  CHECK(verify_password_sync("", hash, cheap).status == password_status::mismatch);
  // The app raised its cost: the old hash still verifies, and asks to be replaced.
  const password_params stronger{.time_cost = 2, .memory_kib = 8 * 1024};
  CHECK(needs_rehash(hash, stronger));
  auto old = verify_password_sync("hunter2", hash, stronger);
  CHECK(old.status == password_status::needs_rehash);
  CHECK(static_cast<bool>(old));
  CHECK(needs_rehash(hash, password_params{.time_cost = 1, .memory_kib = 16 * 1024}));
  CHECK_FALSE(needs_rehash(hash, cheap));
  // Not a PHC string at all, or a truncated one.
  CHECK(verify_password_sync("hunter2", "5f4dcc3b5aa765d61d8327deb882cf99", cheap).status ==
        password_status::invalid_hash);
  CHECK(verify_password_sync("hunter2", hash.substr(0, hash.size() - 4), cheap).status ==
        password_status::mismatch);
  CHECK(needs_rehash("not a hash", cheap));
  // Over-long passwords: refused for hashing, a mismatch for verification.
  CHECK_THROWS_AS(hash_password_sync(std::string(max_password_bytes + 1, 'a'), cheap), std::length_error);
  CHECK(verify_password_sync(std::string(max_password_bytes + 1, 'a'), hash, cheap).status ==
        password_status::mismatch);
  CHECK_THROWS_AS(hash_password_sync("x", password_params{.time_cost = 0}), std::invalid_argument);
}

TEST_CASE("an unknown user is verified against a dummy hash of the same cost", "[auth][password]") {
  const std::string& dummy = dummy_password_hash(cheap);
  CHECK(dummy.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));  // same parameters as real hashes
  CHECK(&dummy == &dummy_password_hash(cheap));                // made once
  observe_scope scope;
  auto r = verify_password_or_dummy_sync("whatever", std::nullopt, cheap);
  CHECK(r.status == password_status::mismatch);
  CHECK(scope.threads().size() == 1);  // one real Argon2id verification ran, as for a known user
  const std::string hash = hash_password_sync("pw", cheap);
  CHECK(verify_password_or_dummy_sync("pw", hash, cheap).status == password_status::ok);
  CHECK(scope.threads().size() == 3);  // the hash and its verification
}

namespace {

// /login hashes and verifies on the worker pool, reporting where each part ran; /ping is instant.
auto make_app() {
  return keel::app{keel::router{
      keel::get<"/login">([]() -> keel::task<std::string> {
        const auto reactor = std::this_thread::get_id();
        std::string hash = co_await hash_password("s3cret", cheap);
        if (std::this_thread::get_id() != reactor) co_return "resumed off the reactor";
        auto good = co_await verify_password("s3cret", hash, cheap);
        auto bad = co_await verify_password_or_dummy("nope", std::nullopt, cheap);
        if (std::this_thread::get_id() != reactor) co_return "resumed off the reactor";
        if (!good || bad) co_return "wrong verdicts";
        std::lock_guard lock(observed_mutex);
        if (observed.size() != 3) co_return "hashing did not run three times";
        for (auto id : observed)
          if (id == reactor) co_return "hashed on the reactor thread";
        co_return "ok";
      }),
      keel::get<"/slow">([]() -> keel::task<std::string> {
        auto r = co_await verify_password("pw", slow_hash, slow);
        slow_finished = true;
        co_return r ? "slow done" : "slow failed";
      }),
      keel::get<"/ping">([] { return "pong"; }),
  }};
}
using app_type = decltype(make_app());

}  // namespace

TEST_CASE("the awaitable API hashes on a worker thread and resumes on the reactor (real server)",
          "[auth][password][socket]") {
  static_cast<void>(dummy_password_hash(cheap));  // made before the observer starts counting
  slow_hash = hash_password_sync("pw", slow);
  auto app = make_app();
  keel::detail::server<app_type> server(app, keel_test::local_config(1));
  const auto port = server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  {
    observe_scope scope;
    CHECK(run_command("curl -s --max-time 20 " + base + "/login") == "ok");
  }
  {
    // One reactor thread: while /slow's hash runs on the pool, /ping is still answered.
    observe_scope scope;
    slow_finished = false;
    std::string slow;
    std::thread client([&] { slow = run_command("curl -s --max-time 30 " + base + "/slow"); });
    while (!slow_started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::string pong = run_command("curl -s --max-time 5 " + base + "/ping");
    const bool slow_finished_first = slow_finished;
    client.join();
    CHECK(pong == "pong");
    CHECK_FALSE(slow_finished_first);
    CHECK(slow == "slow done");
  }
  server.stop();
  server.wait();
}
