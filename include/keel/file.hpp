// keel::file: a responder that sends a file, or a region of it, without copying it through user space on
// plain TCP (sendfile); under TLS it is read in 64 KiB pieces into the connection's buffer.
//
//   keel::get<"/report">([] { return keel::file::open("/srv/report.pdf", "application/pdf"); })
//
// It answers with Content-Length; HEAD gets the length and no body. A missing or unreadable file is a 404
// (open() throws the http_error). keel::static_files (keel/static_files.hpp: directories, ETag, ranges,
// precompressed siblings) sends through the same file region.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/http/status.hpp"
#include "keel/respond.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {

class file {
 public:
  // Opens `path` for reading; throws http_error(404) when it is missing, not a regular file, or unreadable.
  // Opening is a system call on the calling thread: from a reactor that is fine for local files; put a
  // file on a slow network mount behind keel::offload.
  static file open(const std::string& path, std::string_view content_type = "application/octet-stream") {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw http_error(http::status::not_found);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw http_error(http::status::not_found);
    }
    file f;
    f.region_.assign(fd, 0, static_cast<std::uint64_t>(st.st_size));
    f.size_ = static_cast<std::uint64_t>(st.st_size);
    f.content_type_ = std::string(content_type);
    return f;
  }

  // Sends only [offset, offset + length) of the file (clamped to its size).
  file& region(std::uint64_t offset, std::uint64_t length) noexcept {
    if (offset > size_) offset = size_;
    if (length > size_ - offset) length = size_ - offset;
    region_.narrow(offset, length);
    return *this;
  }
  file& status(http::status s) noexcept {
    status_ = s;
    return *this;
  }

  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t length() const noexcept { return region_.length(); }

 private:
  friend struct responder<file>;

  detail::file_region region_;
  std::uint64_t size_ = 0;
  std::string content_type_;
  http::status status_ = http::status::ok;
};

template <>
struct responder<file> {
  static void respond(request_context& ctx, file&& f) {
    ctx.response().status(f.status_).content_type(f.content_type_);
    detail::context_access::file(ctx) = std::move(f.region_);
    detail::context_access::set_kind(ctx, detail::body_kind::file);
  }
};

}  // namespace v0
}  // namespace keel
