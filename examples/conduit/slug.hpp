// Slugs from titles: "How to Train Your Dragon!" -> "how-to-train-your-dragon", "Привет, мир! 你好" ->
// "привет-мир-你好". Letters and digits of any script are kept (capitals of the Latin, Greek and Cyrillic
// alphabets lowered), runs of anything else (ASCII and Unicode punctuation, spaces, symbols, emoji) become
// one
// '-'. Equal titles get "-2", "-3"... (unique_slug).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace conduit {

namespace detail {

// The code point at `p` (advanced past it); U+FFFD for a byte that starts no valid sequence.
inline char32_t next_code_point(std::string_view text, std::size_t& p) {
  const auto b = static_cast<unsigned char>(text[p++]);
  if (b < 0x80) return b;
  const std::size_t extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
  if (extra == 0 || b >= 0xF8 || p + extra > text.size()) return 0xFFFD;
  char32_t cp = b & (0x3F >> extra);
  for (std::size_t i = 0; i < extra; ++i) {
    const auto c = static_cast<unsigned char>(text[p]);
    if ((c & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (c & 0x3F);
    ++p;
  }
  return cp;
}

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Punctuation, spaces and symbols beyond ASCII (Latin-1's, the general punctuation, arrows, math and
// other symbol blocks, CJK and full-width punctuation, emoji, invisible joiners): they separate words.
inline bool is_separator(char32_t cp) {
  return cp < 0x30 || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
         (cp >= 0x7B && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) ||
         (cp >= 0x2E00 && cp <= 0x2E7F) || (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
         (cp >= 0xFE30 && cp <= 0xFE6F) || (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
         (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
         (cp >= 0x1F000 && cp <= 0x1FAFF) || cp == 0xFEFF || cp == 0xFFFD;
}

// Lower case for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals; other letters as they are.
inline char32_t to_lower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
  if (cp >= 0x100 && cp <= 0x17F) {
    if (cp == 0x130) return 'i';
    if (cp == 0x178) return 0xFF;
    const bool odd_capitals = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
    if (odd_capitals) return cp % 2 == 1 ? cp + 1 : cp;
    if (cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F) return cp;
    return cp % 2 == 0 ? cp + 1 : cp;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

}  // namespace detail

// Words of the title (letters and digits of any script) in lower case where the script has one, joined by
// '-', at most 120 bytes; "article" when nothing is left.
inline std::string slugify(std::string_view title) {
  std::string out;
  bool dash = false;
  for (std::size_t p = 0; p < title.size();) {
    const char32_t cp = detail::next_code_point(title, p);
    if (detail::is_separator(cp)) {
      dash = !out.empty();
      continue;
    }
    std::string letter;
    detail::append_utf8(letter, detail::to_lower(cp));
    if (out.size() + (dash ? 1 : 0) + letter.size() > 120) break;
    if (dash) out.push_back('-');
    dash = false;
    out += letter;
  }
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
