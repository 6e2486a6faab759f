// The server benchmarks/upload.sh measures: POST /upload takes a multipart body with one file (up to
// 4 GiB) into --dir, POST /upload-sha256 the same with SHA-256 on the way. Answers the stored size.
//   upload_bench --port N --dir DIR [--threads T]
#include <keel.hpp>
#include <keel/json.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace upload_bench {
constexpr std::uint64_t max_bytes = std::uint64_t{4} << 30;
struct plain_form {
  keel::upload file;
  static constexpr auto keel_multipart_limits = keel::multipart_limits{}.file_bytes(max_bytes);
};
struct hashed_form {
  keel::upload file;
  static constexpr auto keel_multipart_limits = keel::multipart_limits{}.file_bytes(max_bytes).hash();
};
// The benchmark keeps nothing: each stored file is removed before answering (on the worker pool).
template <class Form>
keel::task<std::string> store(keel::multipart<Form> form) {
  std::string path = form->file.path;
  auto remove = [&path] { std::filesystem::remove(path); };
  co_await keel::offload(remove);
  co_return std::to_string(form->file.size) + " " + form->file.sha256 + "\n";
}
}  // namespace upload_bench

int main(int argc, char** argv) {
  const auto cli = keel::parse_command_line(
      argc, argv, {{.name = "dir", .value_name = "DIR", .description = "where uploads go (default /tmp)"}});
  keel::temp_dir_sink sink{cli.value("dir").value_or("")};
  auto api = keel::router{
      keel::post<"/upload">(&upload_bench::store<upload_bench::plain_form>)
          .body_limit(upload_bench::max_bytes + 65536),
      keel::post<"/upload-sha256">(&upload_bench::store<upload_bench::hashed_form>)
          .body_limit(upload_bench::max_bytes + 65536),
  };
  keel::app{std::move(api)}.provide(sink).serve(cli.config);
}
