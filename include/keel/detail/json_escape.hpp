// Minimal JSON string escaping, used by the error bodies and the access log. The full JSON writer lives in
// keel/json/; this file keeps the core free of it.
#pragma once

#include "keel/config.hpp"

#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

// Appends `s` as a JSON string literal (with the quotes) to `out`. Bytes >= 0x80 pass through unchanged, so
// valid UTF-8 stays valid UTF-8.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
