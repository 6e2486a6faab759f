// The benchmark's data: a RealWorld-style article (~1 KB of JSON) as a keel DTO with validators, the same
// shape as a plain struct for the other libraries, the checks every decoder must apply, and a sample.
#pragma once

#include "keel/json/reader.hpp"
#include "keel/json/writer.hpp"
#include "keel/validate/rules.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bench {

struct profile {
  keel::text<1, 40> username;
  std::optional<std::string> bio;
  keel::url image;
  bool following;
};

struct article {
  using keel_naming = keel::camel_case;
  std::int64_t id;
  keel::text<1, 120> slug;
  keel::text<1, 120> title;
  keel::text<0, 500> description;
  keel::text<1, 10000> body;
  keel::sized<std::vector<keel::text<1, 30>>, 0, 20> tag_list;
  std::chrono::system_clock::time_point created_at;
  std::chrono::system_clock::time_point updated_at;
  bool favorited;
  keel::range<std::int64_t, 0, 1'000'000'000'000'000> favorites_count;
  profile author;
};

// The same fields as plain types, filled by the other decoders.
struct plain_profile {
  std::string username;
  std::optional<std::string> bio;
  std::string image;
  bool following = false;
};

struct plain_article {
  std::int64_t id = 0;
  std::string slug, title, description, body;
  std::vector<std::string> tag_list;
  std::chrono::system_clock::time_point created_at, updated_at;
  bool favorited = false;
  std::int64_t favorites_count = 0;
  plain_profile author;
};

// What keel's validator types check, written out for the plain struct.
inline bool length_between(const std::string& s, std::size_t min, std::size_t max) {
  std::size_t n = keel::detail::utf8_length(s);
  return n >= min && n <= max;
}
inline bool valid(const plain_article& a) {
  bool ok = length_between(a.slug, 1, 120) && length_between(a.title, 1, 120) &&
            length_between(a.description, 0, 500) && length_between(a.body, 1, 10000) &&
            a.tag_list.size() <= 20 && a.favorites_count >= 0 && a.favorites_count <= 1'000'000'000'000'000 &&
            length_between(a.author.username, 1, 40) && keel::detail::is_http_url(a.author.image);
  for (const auto& tag : a.tag_list) ok = ok && length_between(tag, 1, 30);
  return ok;
}

inline article sample_article(int n = 0) {
  using namespace std::chrono;
  article a;
  a.id = 4'294'967'296LL * 3 + n;
  a.slug = "how-to-train-your-dragon-" + std::to_string(n);
  a.title = "How to train your dragon \xe2\x80\x94 part " + std::to_string(n);
  a.description =
      "Ever wonder how? A \"practical\" guide, with caf\xc3\xa9 breaks \xe2\x98\x95 and a few tricks.";
  a.body =
      "It takes a Jacobian.\nFirst, \"find\" your dragon: they live in caves, usually far from the city \\ "
      "village.\n\tStep 1: bring snacks (fish, mostly).\n\tStep 2: be patient \xe2\x80\x94 very patient.\n"
      "Dragons are like cats: they decide when the friendship starts. \xf0\x9f\x90\x89 Na\xc3\xafve riders "
      "get "
      "burnt; careful ones get wings.\nReferences: \"The Book of Dragons\", ch. 3-7; notes from the "
      "academy's library, r\xc3\xa9sum\xc3\xa9 of the field work, and a long list of things not to do on a "
      "first "
      "flight (never pull the tail).";
  a.tag_list.get() = {"dragons", "training", "how-to", "caf\xc3\xa9", "pets"};
  a.created_at = sys_days{year{2026} / 11 / 21} + 12h + 34min + 56s + 789ms;
  a.updated_at = a.created_at + 90min;
  a.favorited = n % 2 == 0;
  a.favorites_count = 5'000'000'123LL + n;
  a.author = profile{"jake", "I work at statefarm \xe2\x80\x94 and ride dragons",
                     "https://i.stack.imgur.com/xHWG8.jpg", false};
  return a;
}

inline plain_article to_plain(const article& a) {
  plain_article p;
  p.id = a.id;
  p.slug = *a.slug;
  p.title = *a.title;
  p.description = *a.description;
  p.body = *a.body;
  for (const auto& t : *a.tag_list) p.tag_list.push_back(*t);
  p.created_at = a.created_at;
  p.updated_at = a.updated_at;
  p.favorited = a.favorited;
  p.favorites_count = *a.favorites_count;
  p.author = {*a.author.username, a.author.bio, *a.author.image, a.author.following};
  return p;
}

}  // namespace bench
