// Decode+validate and encode of a ~1 KB article (and an array of 100): keel against a raw simdjson
// on-demand walk, RapidJSON (SAX reader, Writer), Boost.JSON and nlohmann/json doing the same work: every
// decoder fills the same fields and applies the same checks (string lengths in code points, tag count, URL,
// integer range, RFC 3339 timestamps).
#include "article.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>
#include <boost/json/src.hpp>
#include <simdjson.h>
#if KEEL_BENCH_RAPIDJSON
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#endif
#if KEEL_BENCH_NLOHMANN
#include <nlohmann/json.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using bench::plain_article;
namespace ondemand = simdjson::ondemand;
using clock_point = std::chrono::system_clock::time_point;

const std::string& one_json() {
  static const std::string text = keel::json_io::to_string(bench::sample_article());
  return text;
}
const std::string& hundred_json() {
  static const std::string text = [] {
    std::vector<bench::article> many;
    for (int i = 0; i < 100; ++i) many.push_back(bench::sample_article(i));
    return keel::json_io::to_string(many);
  }();
  return text;
}
const std::string& json_for(std::int64_t count) { return count == 1 ? one_json() : hundred_json(); }

void fail(const char* what) {
  std::fprintf(stderr, "json_bench: %s failed\n", what);
  std::abort();
}

bool parse_time(std::string_view s, clock_point& out) {
  auto t = keel::detail::parse_rfc3339(s);
  if (!t) return false;
  out = *t;
  return true;
}

// --- keel
// ---------------------------------------------------------------------------------------------------
void keel_decode(benchmark::State& state) {
  simdjson::padded_string json(json_for(state.range(0)));
  for (auto _ : state) {
    if (state.range(0) == 1) {
      auto r = keel::json_io::read<bench::article>(simdjson::padded_string_view(json));
      if (!r) fail("keel decode");
      benchmark::DoNotOptimize(r);
    } else {
      auto r = keel::json_io::read<std::vector<bench::article>>(simdjson::padded_string_view(json));
      if (!r || r->size() != 100) fail("keel decode");
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}

void keel_encode(benchmark::State& state) {
  std::vector<bench::article> articles;
  for (int i = 0; i < state.range(0); ++i) articles.push_back(bench::sample_article(i));
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (state.range(0) == 1)
      keel::json_io::write(out, articles[0]);
    else
      keel::json_io::write(out, articles);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}

// --- raw simdjson on-demand: fields looked up in document order
// ------------------------------------------------
bool take_string(ondemand::object& o, std::string_view key, std::string& out) {
  std::string_view s;
  if (o.find_field(key).get_string().get(s)) return false;
  out.assign(s.data(), s.size());
  return true;
}
bool take_time(ondemand::object& o, std::string_view key, clock_point& out) {
  std::string_view s;
  return !o.find_field(key).get_string().get(s) && parse_time(s, out);
}

bool raw_article(ondemand::object o, plain_article& a) {
  if (o.find_field("id").get_int64().get(a.id)) return false;
  if (!take_string(o, "slug", a.slug) || !take_string(o, "title", a.title) ||
      !take_string(o, "description", a.description) || !take_string(o, "body", a.body))
    return false;
  ondemand::array tags;
  if (o.find_field("tagList").get_array().get(tags)) return false;
  a.tag_list.clear();
  for (auto tag : tags) {
    std::string_view s;
    if (tag.get_string().get(s)) return false;
    a.tag_list.emplace_back(s);
  }
  if (!take_time(o, "createdAt", a.created_at) || !take_time(o, "updatedAt", a.updated_at)) return false;
  if (o.find_field("favorited").get_bool().get(a.favorited)) return false;
  if (o.find_field("favoritesCount").get_int64().get(a.favorites_count)) return false;
  ondemand::object author;
  if (o.find_field("author").get_object().get(author)) return false;
  if (!take_string(author, "username", a.author.username)) return false;
  auto bio = author.find_field("bio");
  std::string_view bio_text;
  if (!bio.get_string().get(bio_text))
    a.author.bio.emplace(bio_text);
  else
    a.author.bio.reset();
  if (!take_string(author, "image", a.author.image)) return false;
  if (author.find_field("following").get_bool().get(a.author.following)) return false;
  return bench::valid(a);
}

void simdjson_decode(benchmark::State& state) {
  simdjson::padded_string json(json_for(state.range(0)));
  ondemand::parser parser;
  for (auto _ : state) {
    ondemand::document doc;
    if (parser.iterate(json).get(doc)) fail("simdjson iterate");
    if (state.range(0) == 1) {
      plain_article a;
      ondemand::object o;
      if (doc.get_object().get(o) || !raw_article(o, a)) fail("simdjson decode");
      benchmark::DoNotOptimize(a);
    } else {
      std::vector<plain_article> all;
      ondemand::array arr;
      if (doc.get_array().get(arr)) fail("simdjson decode");
      for (auto element : arr) {
        ondemand::object o;
        if (element.get_object().get(o) || !raw_article(o, all.emplace_back())) fail("simdjson decode");
      }
      benchmark::DoNotOptimize(all);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}

// --- Boost.JSON: parse to a DOM, then extract
// ---------------------------------------------------------------
bool boost_article(const boost::json::object& o, plain_article& a) {
  auto str = [&](const boost::json::object& from, std::string_view key, std::string& out) {
    auto* v = from.if_contains(key);
    if (!v || !v->is_string()) return false;
    out.assign(v->get_string().data(), v->get_string().size());
    return true;
  };
  auto time = [&](std::string_view key, clock_point& out) {
    auto* v = o.if_contains(key);
    return v && v->is_string() && parse_time(std::string_view(v->get_string()), out);
  };
  auto* id = o.if_contains("id");
  if (!id || !id->is_int64()) return false;
  a.id = id->get_int64();
  if (!str(o, "slug", a.slug) || !str(o, "title", a.title) || !str(o, "description", a.description) ||
      !str(o, "body", a.body))
    return false;
  auto* tags = o.if_contains("tagList");
  if (!tags || !tags->is_array()) return false;
  a.tag_list.clear();
  for (const auto& t : tags->get_array()) {
    if (!t.is_string()) return false;
    a.tag_list.emplace_back(t.get_string().data(), t.get_string().size());
  }
  if (!time("createdAt", a.created_at) || !time("updatedAt", a.updated_at)) return false;
  auto* fav = o.if_contains("favorited");
  auto* count = o.if_contains("favoritesCount");
  auto* author = o.if_contains("author");
  if (!fav || !fav->is_bool() || !count || !count->is_int64() || !author || !author->is_object())
    return false;
  a.favorited = fav->get_bool();
  a.favorites_count = count->get_int64();
  const auto& au = author->get_object();
  if (!str(au, "username", a.author.username) || !str(au, "image", a.author.image)) return false;
  if (auto* bio = au.if_contains("bio"); bio && bio->is_string())
    a.author.bio.emplace(bio->get_string().data(), bio->get_string().size());
  auto* following = au.if_contains("following");
  if (!following || !following->is_bool()) return false;
  a.author.following = following->get_bool();
  return bench::valid(a);
}

void boost_decode(benchmark::State& state) {
  const std::string& json = json_for(state.range(0));
  for (auto _ : state) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(json, ec);
    if (ec) fail("boost parse");
    if (state.range(0) == 1) {
      plain_article a;
      if (!v.is_object() || !boost_article(v.get_object(), a)) fail("boost decode");
      benchmark::DoNotOptimize(a);
    } else {
      std::vector<plain_article> all;
      for (const auto& e : v.get_array())
        if (!e.is_object() || !boost_article(e.get_object(), all.emplace_back())) fail("boost decode");
      benchmark::DoNotOptimize(all);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}

void time_text(clock_point t, char (&buf)[keel::detail::rfc3339_length]) {
  keel::detail::format_rfc3339(buf, t);
}

boost::json::object boost_from(const plain_article& a) {
  char created[keel::detail::rfc3339_length], updated[keel::detail::rfc3339_length];
  time_text(a.created_at, created);
  time_text(a.updated_at, updated);
  boost::json::object author{
      {"username", a.author.username}, {"image", a.author.image}, {"following", a.author.following}};
  if (a.author.bio) author["bio"] = *a.author.bio;
  boost::json::array tags;
  for (const auto& t : a.tag_list) tags.emplace_back(t);
  return boost::json::object{{"id", a.id},
                             {"slug", a.slug},
                             {"title", a.title},
                             {"description", a.description},
                             {"body", a.body},
                             {"tagList", std::move(tags)},
                             {"createdAt", std::string_view(created, sizeof created)},
                             {"updatedAt", std::string_view(updated, sizeof updated)},
                             {"favorited", a.favorited},
                             {"favoritesCount", a.favorites_count},
                             {"author", std::move(author)}};
}

void boost_encode(benchmark::State& state) {
  std::vector<plain_article> articles;
  for (int i = 0; i < state.range(0); ++i) articles.push_back(bench::to_plain(bench::sample_article(i)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    if (state.range(0) == 1) {
      out = boost::json::serialize(boost_from(articles[0]));
    } else {
      boost::json::array all;
      for (const auto& a : articles) all.emplace_back(boost_from(a));
      out = boost::json::serialize(all);
    }
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

#if KEEL_BENCH_RAPIDJSON
// --- RapidJSON: SAX reader into the struct, Writer out of it
// --------------------------------------------------
class article_handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, article_handler> {
 public:
  explicit article_handler(std::vector<plain_article>& out) : out_(out) {}

  bool StartObject() {
    ++depth_;
    if (depth_ == article_depth()) {
      current_ = &out_.emplace_back();
      seen_ = 0;
    } else if (field_ == f_author) {
      in_author_ = true;
    } else {
      return false;
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    if (in_author_ && depth_ == article_depth() + 1) {
      in_author_ = false;
    } else if (depth_ == article_depth()) {
      if ((seen_ & all_fields) != all_fields || !bench::valid(*current_)) return false;
    }
    --depth_;
    return true;
  }
  bool StartArray() {
    if (depth_ == 0 && !array_root_) {
      array_root_ = true;
      return true;
    }
    if (field_ != f_tags || in_tags_) return false;
    in_tags_ = true;
    current_->tag_list.clear();
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    if (in_tags_) in_tags_ = false;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    std::string_view k(s, n);
    if (in_author_) {
      field_ = k == "username"    ? f_username
               : k == "bio"       ? f_bio
               : k == "image"     ? f_image
               : k == "following" ? f_following
                                  : f_unknown;
    } else {
      field_ = k == "id"               ? f_id
               : k == "slug"           ? f_slug
               : k == "title"          ? f_title
               : k == "description"    ? f_description
               : k == "body"           ? f_body
               : k == "tagList"        ? f_tags
               : k == "createdAt"      ? f_created
               : k == "updatedAt"      ? f_updated
               : k == "favorited"      ? f_favorited
               : k == "favoritesCount" ? f_count
               : k == "author"         ? f_author
                                       : f_unknown;
    }
    seen_ |= 1u << field_;
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    std::string_view v(s, n);
    plain_article& a = *current_;
    if (in_tags_) {
      a.tag_list.emplace_back(v);
      return true;
    }
    switch (field_) {
      case f_slug:
        a.slug.assign(v);
        return true;
      case f_title:
        a.title.assign(v);
        return true;
      case f_description:
        a.description.assign(v);
        return true;
      case f_body:
        a.body.assign(v);
        return true;
      case f_created:
        return parse_time(v, a.created_at);
      case f_updated:
        return parse_time(v, a.updated_at);
      case f_username:
        a.author.username.assign(v);
        return true;
      case f_bio:
        a.author.bio.emplace(v);
        return true;
      case f_image:
        a.author.image.assign(v);
        return true;
      default:
        return false;
    }
  }
  bool Bool(bool b) {
    if (field_ == f_favorited)
      current_->favorited = b;
    else if (field_ == f_following)
      current_->author.following = b;
    else
      return false;
    return true;
  }
  bool Null() {
    if (field_ != f_bio) return false;
    current_->author.bio.reset();
    return true;
  }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Int64(u); }
  bool Uint64(std::uint64_t u) {
    return u <= static_cast<std::uint64_t>(INT64_MAX) && Int64(static_cast<std::int64_t>(u));
  }
  bool Int64(std::int64_t i) {
    if (field_ == f_id)
      current_->id = i;
    else if (field_ == f_count)
      current_->favorites_count = i;
    else
      return false;
    return true;
  }
  bool Default() { return false; }

 private:
  enum field : unsigned {
    f_id,
    f_slug,
    f_title,
    f_description,
    f_body,
    f_tags,
    f_created,
    f_updated,
    f_favorited,
    f_count,
    f_author,
    f_username,
    f_bio,
    f_image,
    f_following,
    f_unknown
  };
  // bio is optional
  static constexpr unsigned all_fields = ((1u << f_unknown) - 1) & ~(1u << f_bio);
  int article_depth() const { return 1; }

  std::vector<plain_article>& out_;
  plain_article* current_ = nullptr;
  int depth_ = 0;
  field field_ = f_unknown;
  unsigned seen_ = 0;
  bool in_author_ = false, in_tags_ = false, array_root_ = false;
};

void rapidjson_decode(benchmark::State& state) {
  const std::string& json = json_for(state.range(0));
  for (auto _ : state) {
    std::vector<plain_article> all;
    article_handler handler(all);
    rapidjson::Reader reader;
    rapidjson::StringStream stream(json.c_str());
    if (reader.Parse<rapidjson::kParseValidateEncodingFlag>(stream, handler).IsError())
      fail("rapidjson decode");
    if (all.size() != static_cast<std::size_t>(state.range(0))) fail("rapidjson count");
    benchmark::DoNotOptimize(all);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}

template <class Writer>
void rapidjson_write(Writer& w, const plain_article& a) {
  char created[keel::detail::rfc3339_length], updated[keel::detail::rfc3339_length];
  time_text(a.created_at, created);
  time_text(a.updated_at, updated);
  auto str = [&w](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("id");
  w.Int64(a.id);
  w.Key("slug");
  str(a.slug);
  w.Key("title");
  str(a.title);
  w.Key("description");
  str(a.description);
  w.Key("body");
  str(a.body);
  w.Key("tagList");
  w.StartArray();
  for (const auto& t : a.tag_list) str(t);
  w.EndArray();
  w.Key("createdAt");
  w.String(created, sizeof created);
  w.Key("updatedAt");
  w.String(updated, sizeof updated);
  w.Key("favorited");
  w.Bool(a.favorited);
  w.Key("favoritesCount");
  w.Int64(a.favorites_count);
  w.Key("author");
  w.StartObject();
  w.Key("username");
  str(a.author.username);
  if (a.author.bio) {
    w.Key("bio");
    str(*a.author.bio);
  }
  w.Key("image");
  str(a.author.image);
  w.Key("following");
  w.Bool(a.author.following);
  w.EndObject();
  w.EndObject();
}

void rapidjson_encode(benchmark::State& state) {
  std::vector<plain_article> articles;
  for (int i = 0; i < state.range(0); ++i) articles.push_back(bench::to_plain(bench::sample_article(i)));
  rapidjson::StringBuffer buffer;
  for (auto _ : state) {
    buffer.Clear();
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    if (state.range(0) == 1) {
      rapidjson_write(writer, articles[0]);
    } else {
      writer.StartArray();
      for (const auto& a : articles) rapidjson_write(writer, a);
      writer.EndArray();
    }
    benchmark::DoNotOptimize(buffer.GetString());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buffer.GetSize()));
}
#endif

#if KEEL_BENCH_NLOHMANN
// --- nlohmann/json
// ------------------------------------------------------------------------------------------
bool nlohmann_article(const nlohmann::json& j, plain_article& a) {
  try {
    a.id = j.at("id").get<std::int64_t>();
    j.at("slug").get_to(a.slug);
    j.at("title").get_to(a.title);
    j.at("description").get_to(a.description);
    j.at("body").get_to(a.body);
    j.at("tagList").get_to(a.tag_list);
    if (!parse_time(j.at("createdAt").get_ref<const std::string&>(), a.created_at) ||
        !parse_time(j.at("updatedAt").get_ref<const std::string&>(), a.updated_at))
      return false;
    a.favorited = j.at("favorited").get<bool>();
    a.favorites_count = j.at("favoritesCount").get<std::int64_t>();
    const auto& au = j.at("author");
    au.at("username").get_to(a.author.username);
    if (auto bio = au.find("bio"); bio != au.end() && bio->is_string())
      a.author.bio = bio->get<std::string>();
    au.at("image").get_to(a.author.image);
    a.author.following = au.at("following").get<bool>();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return bench::valid(a);
}

void nlohmann_decode(benchmark::State& state) {
  const std::string& json = json_for(state.range(0));
  for (auto _ : state) {
    auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded()) fail("nlohmann parse");
    if (state.range(0) == 1) {
      plain_article a;
      if (!nlohmann_article(j, a)) fail("nlohmann decode");
      benchmark::DoNotOptimize(a);
    } else {
      std::vector<plain_article> all;
      for (const auto& e : j)
        if (!nlohmann_article(e, all.emplace_back())) fail("nlohmann decode");
      benchmark::DoNotOptimize(all);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}

nlohmann::json nlohmann_from(const plain_article& a) {
  char created[keel::detail::rfc3339_length], updated[keel::detail::rfc3339_length];
  time_text(a.created_at, created);
  time_text(a.updated_at, updated);
  nlohmann::json author = {
      {"username", a.author.username}, {"image", a.author.image}, {"following", a.author.following}};
  if (a.author.bio) author["bio"] = *a.author.bio;
  return {{"id", a.id},
          {"slug", a.slug},
          {"title", a.title},
          {"description", a.description},
          {"body", a.body},
          {"tagList", a.tag_list},
          {"createdAt", std::string(created, sizeof created)},
          {"updatedAt", std::string(updated, sizeof updated)},
          {"favorited", a.favorited},
          {"favoritesCount", a.favorites_count},
          {"author", std::move(author)}};
}

// dump() of a ready json value: the serializer alone.
void nlohmann_dump(benchmark::State& state) {
  nlohmann::json j = nlohmann::json::array();
  for (int i = 0; i < state.range(0); ++i)
    j.push_back(nlohmann_from(bench::to_plain(bench::sample_article(i))));
  if (state.range(0) == 1) j = j[0];
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out = j.dump();
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

// What an application does: struct -> json -> text.
void nlohmann_encode(benchmark::State& state) {
  std::vector<plain_article> articles;
  for (int i = 0; i < state.range(0); ++i) articles.push_back(bench::to_plain(bench::sample_article(i)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    if (state.range(0) == 1) {
      out = nlohmann_from(articles[0]).dump();
    } else {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& a : articles) all.push_back(nlohmann_from(a));
      out = all.dump();
    }
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::printf("article JSON: %zu bytes; array of 100: %zu bytes\n", one_json().size(), hundred_json().size());
  // KEEL_JSON_BENCH_ITERATIONS=N fixes the iteration count, so that two runs under `perf stat` (N and 2N)
  // give instructions and cycles per operation free of the noise of a shared machine.
  const char* fixed = std::getenv("KEEL_JSON_BENCH_ITERATIONS");
  auto add = [fixed](const char* name, void (*run)(benchmark::State&)) {
    auto* b = benchmark::RegisterBenchmark(name, run)->Arg(1)->Arg(100);
    if (fixed) b->Iterations(std::atoll(fixed));
  };
  add("keel_decode", keel_decode);
  add("simdjson_decode", simdjson_decode);
  add("boost_decode", boost_decode);
  add("keel_encode", keel_encode);
  add("boost_encode", boost_encode);
#if KEEL_BENCH_RAPIDJSON
  add("rapidjson_decode", rapidjson_decode);
  add("rapidjson_encode", rapidjson_encode);
#endif
#if KEEL_BENCH_NLOHMANN
  add("nlohmann_decode", nlohmann_decode);
  add("nlohmann_dump", nlohmann_dump);
  add("nlohmann_encode", nlohmann_encode);
#endif
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
