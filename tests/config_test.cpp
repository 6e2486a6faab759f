#include "keel/server/config.hpp"

#include "keel/server/command_line.hpp"

#include "support/env_guard.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using keel_test::env_guard;

keel::server_config parse(std::vector<std::string> args) {
  args.insert(args.begin(), "app");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return keel::server_config::from_args(static_cast<int>(args.size()), argv.data());
}

}  // namespace

TEST_CASE("from_env without variables gives the defaults", "[config]") {
  const auto cfg = keel::server_config::from_env();
  const keel::server_config defaults;
  CHECK(cfg.host == defaults.host);
  CHECK(cfg.port == defaults.port);
  CHECK(cfg.threads == defaults.threads);
  CHECK(cfg.server_header == defaults.server_header);
}

TEST_CASE("from_env reads KEEL_* variables", "[config]") {
  env_guard env{{"KEEL_HOST", "::"},
                {"KEEL_PORT", "9090"},
                {"KEEL_THREADS", "3"},
                {"KEEL_WORKERS", "5"},
                {"KEEL_MAX_CONNECTIONS", "77"},
                {"KEEL_MAX_BODY_BYTES", "1000"},
                {"KEEL_MAX_HEADER_BYTES", "4096"},
                {"KEEL_SERVER_HEADER", ""},
                {"KEEL_TLS_CERT", "/tmp/c.pem"},
                {"KEEL_TLS_KEY", "/tmp/k.pem"},
                {"KEEL_SHUTDOWN_MS", "1500"},
                {"KEEL_HEADER_TIMEOUT_MS", "250"},
                {"KEEL_IDLE_TIMEOUT_MS", "900"},
                {"KEEL_CPU_AFFINITY", "auto"}};
  const auto cfg = keel::server_config::from_env();
  CHECK(cfg.host == "::");
  CHECK(cfg.port == 9090);
  CHECK(cfg.threads == 3);
  CHECK(cfg.workers == 5);
  CHECK(cfg.max_connections == 77);
  CHECK(cfg.limits.max_body_bytes == 1000);
  CHECK(cfg.limits.max_header_bytes == 4096);
  CHECK_FALSE(cfg.server_header.has_value());
  CHECK(cfg.tls.certificate_file == "/tmp/c.pem");
  CHECK(cfg.tls.private_key_file == "/tmp/k.pem");
  CHECK(cfg.tls.enabled());
  CHECK(cfg.timeout.shutdown == 1500ms);
  CHECK(cfg.timeout.header == 250ms);
  CHECK(cfg.timeout.idle == 900ms);
  CHECK(cfg.affinity == keel::cpu_affinity::per_reactor);
}

TEST_CASE("from_env rejects bad values with the variable's name", "[config]") {
  SECTION("not a number") {
    env_guard env{{"KEEL_PORT", "http"}};
    CHECK_THROWS_WITH(keel::server_config::from_env(),
                      Catch::Contains("KEEL_PORT") && Catch::Contains("'http'"));
  }
  SECTION("out of range") {
    env_guard env{{"KEEL_PORT", "70000"}};
    CHECK_THROWS_AS(keel::server_config::from_env(), std::invalid_argument);
  }
  SECTION("trailing garbage") {
    env_guard env{{"KEEL_THREADS", "4x"}};
    CHECK_THROWS_WITH(keel::server_config::from_env(), Catch::Contains("KEEL_THREADS"));
  }
  SECTION("negative") {
    env_guard env{{"KEEL_MAX_BODY_BYTES", "-1"}};
    CHECK_THROWS_AS(keel::server_config::from_env(), std::invalid_argument);
  }
  SECTION("zero connections") {
    env_guard env{{"KEEL_MAX_CONNECTIONS", "0"}};
    CHECK_THROWS_AS(keel::server_config::from_env(), std::invalid_argument);
  }
}

TEST_CASE("from_args reads flags on top of the environment", "[config]") {
  env_guard env{{"KEEL_PORT", "9090"}, {"KEEL_THREADS", "3"}};
  const auto cfg = parse({"--port", "8081", "--host", "127.0.0.1", "--workers=6", "--tls-cert", "c.pem",
                          "--tls-key", "k.pem", "--max-body-bytes", "2048", "--max-connections", "10",
                          "--shutdown-ms", "300", "--server-header", "mine", "--cpu-affinity", "auto"});
  CHECK(cfg.port == 8081);
  CHECK(cfg.threads == 3);  // from the environment
  CHECK(cfg.host == "127.0.0.1");
  CHECK(cfg.workers == 6);
  CHECK(cfg.tls.certificate_file == "c.pem");
  CHECK(cfg.tls.private_key_file == "k.pem");
  CHECK(cfg.limits.max_body_bytes == 2048);
  CHECK(cfg.max_connections == 10);
  CHECK(cfg.timeout.shutdown == 300ms);
  CHECK(cfg.server_header == "mine");
  CHECK(cfg.affinity == keel::cpu_affinity::per_reactor);
  CHECK(parse({}).affinity == keel::cpu_affinity::off);
  CHECK(parse({"--cpu-affinity=off"}).affinity == keel::cpu_affinity::off);
  CHECK_FALSE(parse({"--no-server-header"}).server_header.has_value());
}

TEST_CASE("from_args ignores flags it does not know", "[config]") {
  const auto cfg = parse({"--verbose", "--db", "app.sqlite", "--threads", "2", "positional", "--color=auto"});
  CHECK(cfg.threads == 2);
  CHECK(cfg.port == keel::server_config{}.port);
}

TEST_CASE("from_args rejects bad values and missing values", "[config]") {
  CHECK_THROWS_WITH(parse({"--port", "-5"}), Catch::Contains("--port"));
  CHECK_THROWS_WITH(parse({"--threads", "many"}), Catch::Contains("--threads") && Catch::Contains("'many'"));
  CHECK_THROWS_WITH(parse({"--shutdown-ms", "0"}), Catch::Contains("--shutdown-ms"));
  CHECK_THROWS_WITH(parse({"--cpu-affinity", "yes"}), Catch::Contains("--cpu-affinity") &&
                                                          Catch::Contains("'yes'") &&
                                                          Catch::Contains("auto or off"));
  CHECK_THROWS_WITH(parse({"--port"}), Catch::Contains("missing value after --port"));
  CHECK_THROWS_AS(parse({"--port="}), std::invalid_argument);
}

namespace {

const keel::cli_flag app_flags[] = {
    {.name = "db", .value_name = "URL", .description = "database URL"},
    {.name = "migrate", .value_name = "", .description = "apply the migrations and exit"},
};

keel::command_line parse_strict(std::vector<std::string> args) {
  args.insert(args.begin(), "app");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return keel::parse_command_line_or_throw(static_cast<int>(args.size()), argv.data(), app_flags);
}

}  // namespace

TEST_CASE("parse_command_line: keel's flags into the config, the app's declared flags into values",
          "[config]") {
  const auto cl = parse_strict({"--port", "8081", "--db", "sqlite:x.db", "--migrate", "--threads=2"});
  CHECK(cl.config.port == 8081);
  CHECK(cl.config.threads == 2);
  CHECK(cl.value("db") == "sqlite:x.db");
  CHECK(cl.has("migrate"));
  CHECK(cl.value("migrate") == "");
  CHECK_FALSE(parse_strict({}).has("db"));
  CHECK(parse_strict({"--db=a", "--db", "b"}).value("db") == "b");  // the last one wins
}

TEST_CASE("parse_command_line rejects unknown flags, stray arguments and bad values", "[config]") {
  CHECK_THROWS_WITH(parse_strict({"--prot", "8080"}),
                    Catch::Contains("unknown flag --prot") && Catch::Contains("did you mean --port?"));
  CHECK_THROWS_WITH(parse_strict({"--dbb", "x"}), Catch::Contains("did you mean --db?"));
  CHECK_THROWS_WITH(parse_strict({"--verbose"}), Catch::Equals("keel: unknown flag --verbose"));
  CHECK_THROWS_WITH(parse_strict({"positional"}), Catch::Contains("unexpected argument 'positional'"));
  CHECK_THROWS_WITH(parse_strict({"--port", "abc"}), Catch::Contains("invalid value 'abc' for --port"));
  CHECK_THROWS_AS(parse_strict({"--port", "abc"}), keel::command_line_error);
  CHECK_THROWS_WITH(parse_strict({"--db"}), Catch::Contains("missing value after --db"));
  CHECK_THROWS_WITH(parse_strict({"--migrate=yes"}), Catch::Contains("--migrate takes no value"));
}

TEST_CASE("command_line_help lists the app's flags and keel's, one line each", "[config]") {
  const std::string help = keel::command_line_help("todo", app_flags);
  CHECK_THAT(help, Catch::StartsWith("usage: todo [flags]\n"));
  CHECK_THAT(help, Catch::Contains("--db URL") && Catch::Contains("database URL"));
  CHECK_THAT(help, Catch::Contains("--migrate ") && Catch::Contains("apply the migrations and exit"));
  CHECK_THAT(help, Catch::Contains("--port N") && Catch::Contains("port to listen on"));
  CHECK_THAT(help, Catch::Contains("--no-server-header") && Catch::Contains("--help"));
  for (const auto& setting : keel::detail::settings)
    CHECK_THAT(help, Catch::Contains("--" + std::string(setting.key)));
}
