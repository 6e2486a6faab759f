// keel::multipart<T>: a multipart/form-data request body (RFC 7578) read as it arrives into a DTO whose
// fields are form values and keel::upload files, as a handler parameter of a coroutine handler.
//
//   struct new_photo {
//     keel::text<1, 100> title;
//     keel::upload file;
//     static constexpr auto keel_multipart_limits = keel::multipart_limits{}.file_bytes(50 << 20).hash();
//   };
//   keel::post<"/photos">([](keel::multipart<new_photo> form) -> keel::task<photo> {
//     co_return photo{std::string(form->title), form->file.filename, form->file.size, form->file.sha256};
//   }).body_limit(std::size_t{51} << 20)
//
// The body is parsed before the handler runs, in pieces (the route reads its body as a stream, so its
// body_limit may be far above the server's default). Text parts fill the other fields with the rules of
// keel::form<T> (same conversions, same validators, every bad field listed in one 422). File parts stream to
// a sink on the worker pool, never to memory: by default keel::temp_dir_sink, which writes each file under
// a fresh mkstemp(3) name in its directory (the client's file name is only metadata, sanitized, never a
// path). Files of a request that fails (a limit, a bad part, a 422) are removed before the error answer; the
// files of a request that succeeded belong to the app (keep, move or remove them).
//
// Errors: not multipart/form-data, or a Content-Encoding 415; no or a bad boundary, a malformed body, a
// truncated body 400; a file over its limit, too many parts, a part's headers over their limit, the whole
// body over the total limit 413 (each with a field entry naming the part where there is one); DTO problems
// 422.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/context.hpp"
#include "keel/detail/multipart_parser.hpp"
#include "keel/detail/sha256.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/detail/text_fields.hpp"
#include "keel/extractors/detail/value_holder.hpp"
#include "keel/json/reflect.hpp"
#include "keel/offload.hpp"
#include "keel/stream.hpp"
#include "keel/task.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

// One uploaded file, as a DTO field of keel::multipart<T> (also std::optional<upload>, std::vector<upload>).
struct upload {
  std::string field;         // the form field's name
  std::string filename;      // the client's file name, sanitized (no path, no control characters)
  std::string content_type;  // as the client sent it (text/plain when none, RFC 7578 §4.4)
  std::uint64_t size = 0;    // bytes
  std::string path;          // where the sink put it: keel::temp_dir_sink's file path, another sink's handle
  std::string sha256;        // 64 hex digits when the limits ask for hashing, else empty

  // OpenAPI: a file (Swagger UI shows a file picker).
  static constexpr std::string_view keel_openapi_schema = R"("type":"string","format":"binary")";
};

// The limits of one multipart body. A DTO declares its own with
//   static constexpr auto keel_multipart_limits = keel::multipart_limits{}.file_bytes(50 << 20);
// The route's body_limit(n) bounds the whole body as well (checked against Content-Length before reading).
struct multipart_limits {
  std::uint64_t max_file_bytes = std::uint64_t{10} << 20;  // per file
  std::uint64_t max_total_bytes = 0;                       // the whole body; 0: only the route's limit
  std::size_t max_field_bytes = 64 * 1024;                 // per text value
  std::size_t max_parts = 100;
  std::size_t max_header_bytes = 8 * 1024;  // per part
  bool sha256 = false;                      // hash every file (keel::upload::sha256)

  constexpr multipart_limits file_bytes(std::uint64_t n) const noexcept {
    multipart_limits l = *this;
    l.max_file_bytes = n;
    return l;
  }
  constexpr multipart_limits total_bytes(std::uint64_t n) const noexcept {
    multipart_limits l = *this;
    l.max_total_bytes = n;
    return l;
  }
  constexpr multipart_limits field_bytes(std::size_t n) const noexcept {
    multipart_limits l = *this;
    l.max_field_bytes = n;
    return l;
  }
  constexpr multipart_limits parts(std::size_t n) const noexcept {
    multipart_limits l = *this;
    l.max_parts = n;
    return l;
  }
  constexpr multipart_limits header_bytes(std::size_t n) const noexcept {
    multipart_limits l = *this;
    l.max_header_bytes = n;
    return l;
  }
  constexpr multipart_limits hash(bool on = true) const noexcept {
    multipart_limits l = *this;
    l.sha256 = on;
    return l;
  }
};

// What a sink learns when a file part starts.
struct upload_start {
  std::string_view field;
  std::string_view filename;  // sanitized
  std::string_view content_type;
};

// Where file parts go. All of it runs on the worker pool (blocking calls are fine):
//   typename S::file f = sink.open(start);   f.write(bytes) (any number of times);
//   std::string handle = f.commit();         once the whole request was accepted (becomes upload::path)
//   f.discard();                             the request failed: forget the bytes
// Errors throw (an http_error keeps its status; anything else is a 500). The app provides a configured sink
// with app.provide(sink); otherwise a default-constructed one is used.
template <class S>
concept UploadSink = std::copy_constructible<S> && requires(S& s, const upload_start& start) {
  typename S::file;
  { s.open(start) } -> std::same_as<typename S::file>;
} && requires(typename S::file& f, std::string_view bytes) {
  f.write(bytes);
  { f.commit() } -> std::convertible_to<std::string>;
  f.discard();
};

// The default sink: files under `dir` ($TMPDIR, else /tmp, when empty) named keel-upload-XXXXXX by
// mkostemp(3) (O_EXCL, mode 0600), so a name is never reused and never chosen by the client.
struct temp_dir_sink {
  std::string dir;

  class file {
   public:
    file(int fd, std::string path) noexcept : fd_(fd), path_(std::move(path)) {}
    file(file&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
    file& operator=(file&& o) noexcept {
      if (this != &o) {
        discard();
        fd_ = std::exchange(o.fd_, -1);
        path_ = std::move(o.path_);
      }
      return *this;
    }
    ~file() { discard(); }

    void write(std::string_view bytes) {
      while (!bytes.empty()) {
        const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          throw http_error(http::status::internal_server_error, "cannot store the uploaded file",
                           "upload_storage_failed");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
      }
    }
    std::string commit() {
      if (fd_ >= 0) ::close(std::exchange(fd_, -1));
      return std::exchange(path_, std::string());
    }
    void discard() noexcept {
      if (fd_ >= 0) ::close(std::exchange(fd_, -1));
      if (!path_.empty()) ::unlink(path_.c_str());
      path_.clear();
    }

   private:
    int fd_ = -1;
    std::string path_;
  };

  file open(const upload_start&) const {
    std::string path = dir;
    if (path.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      path = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
    }
    if (path.back() != '/') path.push_back('/');
    path.append("keel-upload-XXXXXX");
    const int fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0)
      throw http_error(http::status::internal_server_error, "cannot create a file for the upload",
                       "upload_storage_failed");
    return file(fd, std::move(path));
  }
};
static_assert(UploadSink<temp_dir_sink>);

namespace detail {

template <class M>
inline constexpr bool is_upload_field =
    std::same_as<M, upload> || std::same_as<M, std::optional<upload>> || std::same_as<M, std::vector<upload>>;

template <class T>
inline constexpr bool all_multipart_fields = []<std::size_t... I>(std::index_sequence<I...>) {
  return ((text_field<std::remove_cvref_t<decltype(boost::pfr::get<I>(std::declval<T&>()))>> ||
           is_upload_field<std::remove_cvref_t<decltype(boost::pfr::get<I>(std::declval<T&>()))>>)&&...);
}
(std::make_index_sequence<field_count<T>>{});

template <class T>
constexpr multipart_limits multipart_limits_of() {
  if constexpr (has_multipart_limits<T>) {
    static_assert(std::is_convertible_v<decltype(multipart_limits_hook<T>()), multipart_limits>,
                  "keel_multipart_limits must be a keel::multipart_limits: static constexpr auto "
                  "keel_multipart_limits = keel::multipart_limits{}.file_bytes(50 << 20);");
    return multipart_limits_hook<T>();
  } else
    return multipart_limits{};
}

template <class T, std::size_t... I>
constexpr bool multipart_field_is_upload(std::size_t index, std::index_sequence<I...>) {
  bool out = false;
  static_cast<void>(
      ((index == I
            ? (out = is_upload_field<std::remove_cvref_t<decltype(boost::pfr::get<I>(std::declval<T&>()))>>,
               true)
            : false) ||
       ...));
  return out;
}

// The upload at (field, item) of `out`: item is the position in a std::vector<upload>.
template <class T>
upload* upload_at(T& out, std::size_t field, std::size_t item) {
  upload* found = nullptr;
  for_each_field(out, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, auto& member) {
    using M = std::remove_cvref_t<decltype(member)>;
    if (I != field) return;
    if constexpr (std::same_as<M, upload>)
      found = &member;
    else if constexpr (std::same_as<M, std::optional<upload>>)
      found = member ? &*member : nullptr;
    else if constexpr (std::same_as<M, std::vector<upload>>)
      found = item < member.size() ? &member[item] : nullptr;
  });
  return found;
}

// Reads a multipart body into `out`. Throws http_error for every problem, after discarding stored files.
template <class T, UploadSink Sink>
class multipart_reader {
 public:
  multipart_reader(Sink sink, multipart_limits limits) : sink_(std::move(sink)), limits_(limits) {}

  task<> read(body_stream body, std::string_view content_type, T& out) {
    std::optional<http_error> failure;
    std::exception_ptr other;
    try {
      task<> parsing = parse(body, content_type, out);
      co_await std::move(parsing);
    } catch (http_error& e) {
      failure.emplace(std::move(e));
    } catch (...) {
      other = std::current_exception();
    }
    if (failure || other) {
      auto cleanup = [this] {
        for (auto& f : files_) f.file.discard();
        if (current_) current_->discard();
      };
      co_await keel::offload(cleanup);
      if (other) std::rethrow_exception(other);
      throw std::move(*failure);
    }
    auto commit = [this, &out] {
      for (auto& f : files_)
        if (upload* u = upload_at(out, f.field, f.item)) u->path = f.file.commit();
    };
    co_await keel::offload(commit);
  }

 private:
  struct stored {
    typename Sink::file file;
    std::size_t field;
    std::size_t item;
  };
  static constexpr std::size_t count = field_count<T>;
  using indices = std::make_index_sequence<count>;
  static constexpr std::size_t write_chunk = 256 * 1024;  // file bytes gathered per write on the pool

  http_error too_large(std::string message, std::string_view code, std::string_view field) {
    http_error e(http::status::payload_too_large, std::move(message), code);
    if (!field.empty()) e.add_field("multipart", std::string(field), std::string(e.message()));
    return e;
  }

  task<> flush() {
    if (buffer_.empty()) co_return;
    auto work = [this] {
      current_->write(buffer_);
      if (hasher_) hasher_->update(buffer_);
      buffer_.clear();
    };
    co_await keel::offload(work);
  }

  task<> parse(body_stream& body, std::string_view content_type, T& out) {
    std::optional<std::string> boundary = multipart_boundary(content_type);
    if (!boundary) {
      if (!iequals(media_type_of(content_type), "multipart/form-data"))
        throw http_error(http::status::unsupported_media_type, "expected Content-Type: multipart/form-data",
                         "unsupported_media_type");
      throw http_error(http::status::bad_request, "missing or invalid multipart boundary", "bad_multipart");
    }
    if constexpr (declares_missing_fields<T>) absent_keeps_default_ = missing_fields_use_defaults_hook<T>();
    multipart_parser parser(*boundary, {limits_.max_parts, limits_.max_header_bytes});
    std::array<std::size_t, count> repeats{};
    text_field_errors errors("multipart");
    std::string text;
    enum class kind { skip, text, file } part = kind::skip;
    std::size_t index = count;
    std::uint64_t total = 0;
    bool finished = false;
    for (std::string_view piece;;) {
      piece = co_await body.read();
      total += piece.size();
      if (limits_.max_total_bytes != 0 && total > limits_.max_total_bytes)
        throw too_large("the multipart body is too large", "payload_too_large", {});
      if (piece.empty()) {
        if (!finished && !parser.finish()) throw malformed(parser.error());
        break;
      }
      if (finished) continue;  // the epilogue: read and dropped
      parser.feed(piece);
      for (bool more = true; more;) {
        switch (parser.next()) {
          case multipart_parser::event::need_more:
            more = false;
            break;
          case multipart_parser::event::done:
            finished = true;
            more = false;
            break;
          case multipart_parser::event::error:
            throw malformed(parser.error());
          case multipart_parser::event::part_begin: {
            const multipart_part_head& head = parser.head();
            index = match_unescaped_field<T>(head.name, indices{});
            part = kind::skip;
            if (index == count) {
              if constexpr (rejects_unknown_fields<T>) errors.add(head.name, "unknown field");
              break;
            }
            const bool wants_file = multipart_field_is_upload<T>(index, indices{});
            if (wants_file != head.has_filename) {
              errors.add(head.name, wants_file ? "must be a file" : "must be a form value, not a file");
              break;
            }
            if (!wants_file) {
              part = kind::text;
              text.clear();
              break;
            }
            upload* u = begin_upload(out, index, repeats[index], errors, head);
            if (u == nullptr) break;
            part = kind::file;
            current_upload_ = u;
            item_ = repeats[index] - 1;
            const upload_start start{u->field, u->filename, u->content_type};
            auto open = [this, start] { current_.emplace(sink_.open(start)); };
            co_await keel::offload(open);
            if (limits_.sha256) hasher_.emplace();
            break;
          }
          case multipart_parser::event::data: {
            const std::string_view data = parser.data();
            if (part == kind::text) {
              if (text.size() + data.size() > limits_.max_field_bytes) {
                errors.add(parser.head().name,
                           "must be at most " + std::to_string(limits_.max_field_bytes) + " bytes");
                part = kind::skip;
                break;
              }
              text.append(data);
            } else if (part == kind::file) {
              current_upload_->size += data.size();
              if (current_upload_->size > limits_.max_file_bytes)
                throw too_large(
                    "the file is too large (at most " + std::to_string(limits_.max_file_bytes) + " bytes)",
                    "file_too_large", current_upload_->field);
              std::string_view rest = data;
              while (!rest.empty()) {
                const std::size_t room = write_chunk - buffer_.size();
                const std::size_t take = rest.size() < room ? rest.size() : room;
                buffer_.append(rest.substr(0, take));
                rest.remove_prefix(take);
                if (buffer_.size() == write_chunk) {
                  task<> writing = flush();
                  co_await std::move(writing);
                }
              }
            }
            break;
          }
          case multipart_parser::event::part_end:
            if (part == kind::text) {
              assign_value(index, std::string_view(text), repeats[index]++, out, errors);
            } else if (part == kind::file) {
              task<> writing = flush();
              co_await std::move(writing);
              if (hasher_) {
                current_upload_->sha256 = hasher_->hex();
                hasher_.reset();
              }
              files_.push_back(stored{std::move(*current_), index, item_});
              current_.reset();
            }
            part = kind::skip;
            break;
        }
      }
    }
    finish_fields(out, repeats, errors);
    if (errors.any()) throw std::move(errors).take();
  }

  // A text part's value into text field `index` (keel::form<T>'s conversions and validators).
  static void assign_value(std::size_t index, std::string_view text, std::size_t repeat, T& out,
                           text_field_errors& errors) {
    for_each_field(out, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, auto& member) {
      using M = std::remove_cvref_t<decltype(member)>;
      if constexpr (!is_upload_field<M>)
        if (I == index) assign_text_field(json_field_name<T, I>, text, repeat, member, errors);
    });
  }

  // Makes room for a new file in field `index`; nothing when the field takes no more files.
  upload* begin_upload(T& out, std::size_t index, std::size_t& repeat, text_field_errors& errors,
                       const multipart_part_head& head) {
    upload* u = nullptr;
    for_each_field(out, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, auto& member) {
      using M = std::remove_cvref_t<decltype(member)>;
      if (I != index) return;
      if constexpr (std::same_as<M, upload> || std::same_as<M, std::optional<upload>>) {
        if (repeat != 0) return errors.add(std::string(head.name), "repeated key; expected one value");
        if constexpr (std::same_as<M, upload>)
          u = &member;
        else
          u = &member.emplace();
      } else if constexpr (std::same_as<M, std::vector<upload>>) {
        if (repeat >= limits_.max_parts) return;
        u = &member.emplace_back();
      }
    });
    if (u == nullptr) return nullptr;
    ++repeat;
    u->field = head.name;
    u->filename = sanitize_filename(head.filename);
    u->content_type = head.content_type;
    return u;
  }

  void finish_fields(T& out, const std::array<std::size_t, count>& repeats, text_field_errors& errors) {
    for_each_field(out, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, auto& member) {
      using M = std::remove_cvref_t<decltype(member)>;
      if constexpr (std::same_as<M, upload>) {
        if (repeats[I] == 0) errors.add(std::string(json_field_name<T, I>), "file required");
      } else if constexpr (is_upload_field<M>) {
      } else if constexpr (text_vector_validator<M>) {
        if (std::string_view reason = member.check(); !reason.empty())
          errors.add(std::string(json_field_name<T, I>), std::string(reason));
      } else if constexpr (!is_text_optional<M> && !is_text_vector<M>) {
        if (repeats[I] == 0 && !absent_keeps_default_)
          errors.add(std::string(json_field_name<T, I>), "field required");
      }
    });
    if constexpr (SelfValidating<T>) {
      if (!errors.any())
        for (auto& e : out.validate()) errors.add(std::move(e.path), std::move(e.reason));
    }
  }

  http_error malformed(multipart_error e) {
    const std::string message(multipart_error_message(e));
    switch (e) {
      case multipart_error::header_too_large:
        return too_large(message, "part_header_too_large", {});
      case multipart_error::too_many_parts:
        return too_large(message + " (at most " + std::to_string(limits_.max_parts) + ")", "too_many_parts",
                         {});
      default:
        return http_error(http::status::bad_request, message, "bad_multipart");
    }
  }

  Sink sink_;
  multipart_limits limits_;
  std::vector<stored> files_;
  std::optional<typename Sink::file> current_;
  upload* current_upload_ = nullptr;
  std::size_t item_ = 0;
  std::string buffer_;
  std::optional<sha256_hasher> hasher_;
  bool absent_keeps_default_ = false;
};

}  // namespace detail

// The handler parameter. Sink: where files go (keel::temp_dir_sink unless given; the app's service of that
// type when it provides one, e.g. a temp_dir_sink with its `dir` set).
template <Dto T, UploadSink Sink = temp_dir_sink>
struct multipart : detail::value_holder<T> {
  static_assert(detail::all_multipart_fields<T>,
                "keel::multipart<T>: every field of T must be a keel::upload (or std::optional / std::vector "
                "of one), or a field keel::form<T> accepts (bool, integer, floating point, std::string, enum "
                "or a validator over one, or a std::optional / std::vector of those)");
  using keel_dto = T;  // for the OpenAPI generator
  static constexpr keel::location keel_location = keel::location::multipart;
  static constexpr std::string_view keel_content_type = "multipart/form-data";
  static constexpr bool keel_needs_coroutine = true;
  static constexpr bool keel_reads_body_stream = true;

  multipart() = default;
  multipart(request_context& ctx, Sink sink) : ctx_(&ctx), sink_(std::move(sink)) {}

  // Run by the router before the handler: reads the whole body (throws http_error on bad input).
  task<> keel_prepare() {
    body_stream body(*ctx_, *detail::context_access::channel(*ctx_));
    detail::multipart_reader<T, Sink> reader(std::move(sink_), detail::multipart_limits_of<T>());
    const std::string_view coding = ctx_->request().header("Content-Encoding");
    if (!coding.empty() && !detail::iequals(coding, "identity"))  // a streamed body is read as sent
      throw http_error(http::status::unsupported_media_type, "a multipart body must not be Content-Encoded",
                       "unsupported_content_encoding");
    const std::string_view content_type = ctx_->request().header("Content-Type");
    task<> reading = reader.read(body, content_type, this->value);
    co_await std::move(reading);
  }

 private:
  request_context* ctx_ = nullptr;
  Sink sink_{};
};

template <class T, class Sink>
struct extractor<multipart<T, Sink>> {
  template <class Ctx>
  static multipart<T, Sink> extract(Ctx& ctx) {
    if constexpr (Ctx::template has_service<Sink>)
      return multipart<T, Sink>(ctx, ctx.template service<Sink>());
    else
      return multipart<T, Sink>(ctx, Sink{});
  }
};

}  // namespace v0
}  // namespace keel
