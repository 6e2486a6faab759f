// Slugs from titles: "How to Train Your Dragon!" -> "how-to-train-your-dragon". ASCII letters are lowered,
// digits kept, letters beyond ASCII kept as they are (UTF-8), anything else becomes one '-'. Equal titles get
// "-2", "-3"... (unique_slug).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace conduit {

inline std::string slugify(std::string_view title) {
  std::string out;
  bool dash = false;
  for (char c : title) {
    const auto u = static_cast<unsigned char>(c);
    const bool keep = (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || u >= 0x80;
    if (!keep) {
      dash = !out.empty();
      continue;
    }
    if (dash) out.push_back('-');
    dash = false;
    out.push_back(u >= 'A' && u <= 'Z' ? static_cast<char>(u - 'A' + 'a') : c);
    if (out.size() >= 120) break;
  }
  // Cut at 120 bytes: never inside a UTF-8 sequence (drop a last character that lost its tail).
  std::size_t lead = out.size();
  while (lead > 0 && (static_cast<unsigned char>(out[lead - 1]) & 0xC0) == 0x80) --lead;
  if (lead > 0 && static_cast<unsigned char>(out[lead - 1]) >= 0xC0) {
    const auto b = static_cast<unsigned char>(out[lead - 1]);
    const std::size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    if (out.size() - (lead - 1) < need) out.resize(lead - 1);
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? std::string("article") : out;
}

// The length in characters (code points) of UTF-8 text, as SQL's substr() counts.
inline std::int64_t utf8_length(std::string_view text) {
  std::int64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// `base` itself when free, else base-2, base-3 ... : `taken` holds the slugs already used that are `base`
// or start with "base-".
inline std::string unique_slug(const std::string& base, const std::vector<std::string>& taken) {
  std::set<std::string_view> used(taken.begin(), taken.end());
  if (!used.contains(base)) return base;
  for (std::int64_t n = 2;; ++n) {
    std::string candidate = base + "-" + std::to_string(n);
    if (!used.contains(candidate)) return candidate;
  }
}

}  // namespace conduit
