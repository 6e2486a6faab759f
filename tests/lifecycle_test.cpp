// App lifecycle through the real examples/lifecycle program: the shutdown order (in-flight request, then the
// background task, then on_stop, then exit 0) on SIGTERM, periodic timers, and a task that ignores the stop
// request being abandoned at the deadline with a warning while the process still exits 0.
#include "keel/lifecycle.hpp"

#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using keel_test::raw_client;

namespace {

// An example program, built next to this test (build/examples/NAME).
std::string example_path(const char* name = "lifecycle") {
  char self[PATH_MAX] = {};
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(n > 0);
  return (std::filesystem::path(std::string(self, static_cast<std::size_t>(n))).parent_path().parent_path() /
          "examples" / name)
      .string();
}

// A child process with its stdout and stderr in files.
struct child {
  pid_t pid = -1;
  std::string out_file, err_file;

  explicit child(const std::vector<std::string>& args) {
    char tmpl[] = "/tmp/keel-lifecycle-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    out_file = dir + "/out";
    err_file = dir + "/err";
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(out, 1);
      ::dup2(err, 2);
      // An abandoned task's frame is left suspended on purpose: not a leak the sanitizer should fail on.
      ::setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  static std::string read(const std::string& file) {
    std::string text;
    if (FILE* f = std::fopen(file.c_str(), "r")) {
      char buf[1024];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
      std::fclose(f);
    }
    return text;
  }
  std::string out() const { return read(out_file); }
  std::string err() const { return read(err_file); }
  // The port from the "keel listening on http://127.0.0.1:N" line.
  std::uint16_t port() const {
    for (int i = 0; i < 500; ++i) {
      const std::string e = err();
      const auto at = e.find("127.0.0.1:");
      if (at != std::string::npos && e.find(' ', at) != std::string::npos)
        return static_cast<std::uint16_t>(std::stoi(e.substr(at + 10)));
      std::this_thread::sleep_for(10ms);
    }
    return 0;
  }
  // The exit status, waiting up to `limit`; -1 when it did not exit in time (then it is killed).
  int wait_exit(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    pid = -1;
    return -1;
  }
  ~child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE("SIGTERM: the request in flight finishes, then the task stops, then on_stop runs; exit 0",
          "[lifecycle]") {
  STATIC_REQUIRE(!std::is_copy_constructible_v<keel::background>);
  child app(
      {example_path(), "--host", "127.0.0.1", "--port", "0", "--threads", "1", "--shutdown-ms", "3000"});
  const std::uint16_t port = app.port();
  REQUIRE(port != 0);
  std::this_thread::sleep_for(150ms);
  {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send("GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string r = c.read_responses(1);
    const int ticks = std::stoi(r.substr(r.find("\r\n\r\n") + 4));
    CHECK(ticks >= 2);  // every(20ms) has been running
  }
  raw_client slow("127.0.0.1", port);
  REQUIRE(slow.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(50ms);
  ::kill(app.pid, SIGTERM);
  const std::string answer = slow.read_responses(1);
  CHECK(answer.starts_with("HTTP/1.1 200"));
  CHECK(answer.find("Connection: close") != std::string::npos);
  CHECK(app.wait_exit(10s) == 0);
  CHECK(app.out() == "on_start\ntask started\nrequest finished\ntask stopped\non_stop\nexit\n");
}

TEST_CASE("a task that ignores the stop request is abandoned at the deadline; exit 0", "[lifecycle]") {
  child app({example_path(), "--host", "127.0.0.1", "--port", "0", "--threads", "1", "--shutdown-ms", "300",
             "--stubborn"});
  REQUIRE(app.port() != 0);
  std::this_thread::sleep_for(100ms);
  const auto sent = std::chrono::steady_clock::now();
  ::kill(app.pid, SIGTERM);
  CHECK(app.wait_exit(10s) == 0);
  CHECK(std::chrono::steady_clock::now() - sent < 5s);
  CHECK(app.out() == "on_start\ntask started\ntask stopped\non_stop\nexit\n");
  CHECK(app.err().find("\"event\":\"background_tasks_abandoned\",\"count\":1") != std::string::npos);
}

TEST_CASE("an idle server exits promptly on SIGTERM", "[lifecycle]") {
  for (const char* threads : {"1", "2"}) {
    child app({example_path("hello"), "--host", "127.0.0.1", "--port", "0", "--threads", threads});
    REQUIRE(app.port() != 0);
    const auto sent = std::chrono::steady_clock::now();
    ::kill(app.pid, SIGTERM);
    CHECK(app.wait_exit(10s) == 0);
    // Nothing to finish: no timer or join may hold the exit (it took 1.2-2 s once; ~10 ms here).
    CHECK(std::chrono::steady_clock::now() - sent < 1s);
  }
}
