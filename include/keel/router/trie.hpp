// The route table as a segment trie built at compile time. Matching walks the path once, segment by segment
// (literal children by binary search, then the parameter child, then a tail parameter), instead of trying
// routes in turn, so dispatch cost depends on the path's depth, not on the number of routes. Labels are
// ordered by length first, so a lookup compares lengths (one integer) before it touches any bytes.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/output_buffer.hpp"
#include "keel/http/method.hpp"
#include "keel/router/path_template.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

struct route_desc {
  std::string_view path;
  http::method_set methods;
};

struct trie_node {
  std::uint16_t first_edge = 0;
  std::uint16_t edge_count = 0;
  std::int16_t param_child = -1;
  std::int16_t leaf = -1;       // routes whose path ends at this node
  std::int16_t tail_leaf = -1;  // routes with a {name...} parameter at this position
};
struct trie_edge {
  std::string_view label;
  std::uint16_t node = 0;
};
struct trie_leaf {
  std::uint16_t first = 0;  // into leaf_routes
  std::uint16_t count = 0;
  http::method_set methods;  // union of the routes' methods (the Allow header)
};

struct trie_sizes {
  std::size_t nodes = 0, edges = 0, leaves = 0, routes = 0;
};

// The order of labels in a node: shorter first, then bytewise.
constexpr bool label_less(std::string_view a, std::string_view b) noexcept {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// Bytewise a < b for two labels of the same length.
KEEL_ALWAYS_INLINE bool same_length_less(std::string_view a, std::string_view b) noexcept {
  return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

template <std::size_t Nodes, std::size_t Edges, std::size_t Leaves, std::size_t Routes>
struct trie {
  std::array<trie_node, Nodes> nodes{};
  std::array<trie_edge, (Edges ? Edges : 1)> edges{};
  std::array<trie_leaf, (Leaves ? Leaves : 1)> leaves{};
  std::array<std::uint16_t, (Routes ? Routes : 1)> leaf_routes{};  // route indices, grouped by leaf
};

struct trie_builder {
  struct node {
    std::vector<trie_edge> children;  // node indices into `nodes`
    int param_child = -1;
    std::vector<std::uint16_t> routes, tail_routes;
  };
  std::vector<node> nodes;

  constexpr trie_builder(const route_desc* descs, std::size_t count) {
    // Room for the worst case (every segment a new node) up front: growing a vector of nodes that own vectors
    // copies them all in constant evaluation, which made 500 routes exceed the compiler's constexpr budget.
    std::size_t most_nodes = 1;
    for (std::size_t r = 0; r < count; ++r)
      for (const char c : descs[r].path) most_nodes += c == '/';
    nodes.reserve(most_nodes);
    nodes.push_back({});
    // In segment order the routes below any node arrive together, so insert() only has to look at a node's
    // newest child: a linear search of the siblings made building 500 routes quadratic.
    std::vector<std::size_t> order;  // push_back: clang 16 rejects libstdc++'s vector(n) fill in constexpr
    order.reserve(count);
    for (std::size_t r = 0; r < count; ++r) order.push_back(r);
    std::sort(order.begin(), order.end(), [descs](std::size_t a, std::size_t b) {
      if (segment_less(descs[a].path, descs[b].path)) return true;
      if (segment_less(descs[b].path, descs[a].path)) return false;
      return a < b;
    });
    for (const std::size_t r : order) insert(descs, r);
  }

  static constexpr bool is_param_segment(std::string_view seg) {
    return seg.size() >= 2 && seg.front() == '{';
  }

  // The segment of `path` starting at `at`; moves `at` past the '/' after it (beyond size() after the last).
  static constexpr std::string_view next_segment(std::string_view path, std::size_t& at) {
    const std::size_t end = next_slash(path, at);  // not path.find: see next_slash
    const std::string_view seg = path.substr(at, end - at);
    at = end + 1;
    return seg;
  }

  // Segment by segment, a shorter sequence first; every parameter segment equals every other (they share one
  // child node) and sorts after the literals.
  static constexpr bool segment_less(std::string_view a, std::string_view b) {
    std::size_t i = 1, j = 1;
    for (;;) {
      const bool a_more = i < a.size() || (i == a.size() && a.size() > 1 && a.back() == '/');
      const bool b_more = j < b.size() || (j == b.size() && b.size() > 1 && b.back() == '/');
      if (!a_more || !b_more) return !a_more && b_more;
      const std::string_view sa = next_segment(a, i), sb = next_segment(b, j);
      const bool pa = is_param_segment(sa), pb = is_param_segment(sb);
      if (pa != pb) return pb;
      if (!pa && sa != sb) return sa < sb;
    }
  }

  constexpr void insert(const route_desc* descs, std::size_t r) {
    std::string_view p = descs[r].path;
    std::size_t cur = 0;
    std::size_t i = 1;
    bool done = p.size() <= 1;
    while (!done) {
      const std::size_t end = next_slash(p, i);  // not p.find: see next_slash
      done = end == p.size();
      std::string_view seg = p.substr(i, end - i);
      i = end + 1;
      if (seg.size() >= 2 && seg.front() == '{') {
        if (seg.size() > 5 && seg.substr(seg.size() - 4) == "...}") {
          check_conflict(descs, nodes[cur].tail_routes, r);
          nodes[cur].tail_routes.push_back(static_cast<std::uint16_t>(r));
          return;
        }
        if (nodes[cur].param_child < 0) {
          nodes[cur].param_child = static_cast<int>(nodes.size());
          nodes.push_back({});
        }
        cur = static_cast<std::size_t>(nodes[cur].param_child);
      } else {
        // Routes arrive in segment order (see the constructor): a child for `seg` can only be the newest one.
        std::size_t next = 0;
        const bool found = !nodes[cur].children.empty() && nodes[cur].children.back().label == seg;
        if (found) next = nodes[cur].children.back().node;
        if (!found) {
          next = nodes.size();
          nodes[cur].children.push_back({seg, static_cast<std::uint16_t>(next)});
          nodes.push_back({});
        }
        cur = next;
      }
    }
    check_conflict(descs, nodes[cur].routes, r);
    nodes[cur].routes.push_back(static_cast<std::uint16_t>(r));
  }

  static constexpr void check_conflict(const route_desc* descs, const std::vector<std::uint16_t>& existing,
                                       std::size_t r) {
    for (auto o : existing)
      if ((descs[o].methods.bits & descs[r].methods.bits) != 0)
        path_error("keel: two routes have the same path shape and method (parameter names don't count)");
  }

  constexpr trie_sizes sizes() const {
    trie_sizes s;
    s.nodes = nodes.size();
    for (const auto& n : nodes) {
      s.edges += n.children.size();
      s.leaves += !n.routes.empty();
      s.leaves += !n.tail_routes.empty();
      s.routes += n.routes.size() + n.tail_routes.size();
    }
    return s;
  }

  template <class Trie>
  constexpr Trie flatten(const route_desc* descs) const {
    Trie t{};
    std::size_t edge = 0, leaf = 0, lr = 0;
    auto add_leaf = [&](const std::vector<std::uint16_t>& routes) -> std::int16_t {
      if (routes.empty()) return -1;
      trie_leaf& l = t.leaves[leaf];
      l.first = static_cast<std::uint16_t>(lr);
      l.count = static_cast<std::uint16_t>(routes.size());
      for (auto rt : routes) {
        t.leaf_routes[lr++] = rt;
        l.methods = l.methods | descs[rt].methods;
      }
      return static_cast<std::int16_t>(leaf++);
    };
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      auto children = nodes[n].children;
      std::sort(children.begin(), children.end(),
                [](const trie_edge& a, const trie_edge& b) { return label_less(a.label, b.label); });
      trie_node& out = t.nodes[n];
      out.first_edge = static_cast<std::uint16_t>(edge);
      out.edge_count = static_cast<std::uint16_t>(children.size());
      for (const auto& c : children) t.edges[edge++] = c;
      out.param_child = static_cast<std::int16_t>(nodes[n].param_child);
      out.leaf = add_leaf(nodes[n].routes);
      out.tail_leaf = add_leaf(nodes[n].tail_routes);
    }
    return t;
  }
};

template <std::size_t N>
consteval trie_sizes trie_sizes_of(const std::array<route_desc, N>& descs) {
  return trie_builder(descs.data(), N).sizes();
}

// Bounds on the trie's sizes from the paths alone (each segment adds at most one node and one edge, each
// route sits in one leaf). Sizing the arrays by these instead of by trie_sizes_of builds the trie once at
// compile time instead of twice: constant evaluation of the builder is a visible part of a large app's
// compile time. The unused tail of each array is never reached.
template <std::size_t N>
consteval trie_sizes trie_bounds_of(const std::array<route_desc, N>& descs) {
  trie_sizes s;
  for (const auto& d : descs)
    for (const char c : d.path) s.edges += c == '/';
  s.nodes = s.edges + 1;
  s.leaves = N;
  s.routes = N;
  return s;
}

template <std::size_t N, trie_sizes S>
consteval auto build_trie(const std::array<route_desc, N>& descs) {
  using T = trie<S.nodes, S.edges, S.leaves, S.routes>;
  return trie_builder(descs.data(), N).template flatten<T>(descs.data());
}

// Matches `rest` (the path after its leading '/'; `at_end` when nothing is left) from `node`. Captured
// parameter values go to params[depth...]. Returns the leaf index or -1.
// The first '/' in [p, end), or end: eight bytes at a time, never reading past end.
KEEL_ALWAYS_INLINE const char* find_slash(const char* p, const char* end) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  while (end - p >= 8) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    x ^= ones * '/';
    const std::uint64_t zero = (x - ones) & ~x & highs;  // the first zero byte (a '/') is exact
    if (zero != 0) return p + __builtin_ctzll(zero) / 8;
    p += 8;
  }
#endif
  while (p != end && *p != '/') ++p;
  return p;
}

// Matches `rest` (the path after its leading '/'; `at_end` when nothing is left) from `node`. Captured
// parameter values go to params[depth...]. Returns the leaf index or -1.
template <class Trie>
int match_path_from(const Trie& t, std::size_t node, std::string_view rest, bool at_end,
                    std::string_view* params, std::size_t depth) {
  const trie_node& n = t.nodes[node];
  if (at_end) return n.leaf;
  const char* const begin = rest.data();
  const std::size_t size = rest.size();
  if (n.edge_count != 0 && n.edge_count <= 8) {
    // Few children: a label matches when the path continues with it and then '/' or its end, so no scan for
    // the segment's end is needed (labels are sorted by length; at most one can match).
    const trie_edge* const last = t.edges.data() + n.first_edge + n.edge_count;
    for (const trie_edge* it = t.edges.data() + n.first_edge; it != last; ++it) {
      const std::size_t len = it->label.size();
      if (len > size) break;
      if ((len == size || begin[len] == '/') && equal_bytes(it->label.data(), begin, len)) {
        const bool last_segment = len == size;
        const std::string_view after =
            last_segment ? std::string_view{} : std::string_view(begin + len + 1, size - len - 1);
        const int r = match_path_from(t, it->node, after, last_segment, params, depth);
        if (r >= 0) return r;
        break;
      }
    }
    if (n.param_child < 0 && n.tail_leaf < 0) return -1;
  }
  const char* const slash = find_slash(begin, begin + size);
  const std::string_view seg(begin, static_cast<std::size_t>(slash - begin));
  const bool next_end = slash == begin + size;
  const std::string_view after =
      next_end ? std::string_view{}
               : std::string_view(slash + 1, static_cast<std::size_t>(begin + size - slash - 1));
  if (n.edge_count > 8) {
    // Many children: binary search in (length, bytes) order.
    const trie_edge* lo = t.edges.data() + n.first_edge;
    std::size_t count = n.edge_count;
    while (count > 0) {
      const std::size_t half = count / 2;
      const trie_edge& e = lo[half];
      const bool less =
          e.label.size() != seg.size() ? e.label.size() < seg.size() : same_length_less(e.label, seg);
      if (less) {
        lo += half + 1;
        count -= half + 1;
      } else {
        count = half;
      }
    }
    if (lo != t.edges.data() + n.first_edge + n.edge_count && lo->label.size() == seg.size() &&
        equal_bytes(lo->label.data(), seg.data(), seg.size())) {
      const int r = match_path_from(t, lo->node, after, next_end, params, depth);
      if (r >= 0) return r;
    }
  }
  if (n.param_child >= 0 && !seg.empty()) {
    params[depth] = seg;
    int r = match_path_from(t, static_cast<std::size_t>(n.param_child), after, next_end, params, depth + 1);
    if (r >= 0) return r;
  }
  if (n.tail_leaf >= 0) {
    params[depth] = rest;
    return n.tail_leaf;
  }
  return -1;
}

// match_path_from(t, 0, ...), with the descent through nodes that offer nothing to fall back on (a few
// literal children, no parameter child, no tail parameter) done in a loop inline: a failed label there fails
// the whole match, so no backtracking is lost. Static paths like "/plaintext" never call the recursive
// matcher, whose entry and exit (it keeps six registers across its recursive calls) cost more than the
// comparisons.
// Whether any node of `t` can need match_path_from: a parameter or tail child, or many labels. A table of
// literal paths with few labels per node (hello's) never does, and does without the recursive matcher.
template <class Trie>
constexpr bool needs_match_path_from(const Trie& t) noexcept {
  for (const trie_node& n : t.nodes)
    if (n.param_child >= 0 || n.tail_leaf >= 0 || n.edge_count > 8) return true;
  return false;
}

template <bool Backtracking = true, class Trie>
KEEL_ALWAYS_INLINE int match_path(const Trie& t, std::string_view rest, bool at_end,
                                  std::string_view* params) {
  std::size_t node = 0;
  for (;;) {
    const trie_node& n = t.nodes[node];
    if (at_end) return n.leaf;
    if (n.param_child >= 0 || n.tail_leaf >= 0 || n.edge_count == 0 || n.edge_count > 8) {
      if constexpr (Backtracking) return match_path_from(t, node, rest, at_end, params, 0);
      return -1;  // (without Backtracking only a node without labels gets here)
    }
    const char* const begin = rest.data();
    const std::size_t size = rest.size();
    const trie_edge* const last = t.edges.data() + n.first_edge + n.edge_count;
    const trie_edge* it = t.edges.data() + n.first_edge;
    for (;; ++it) {
      if (it == last) return -1;
      const std::size_t len = it->label.size();
      if (len > size) return -1;
      if ((len == size || begin[len] == '/') && equal_bytes(it->label.data(), begin, len)) break;
    }
    const std::size_t len = it->label.size();
    node = it->node;
    at_end = len == size;
    rest = at_end ? std::string_view{} : std::string_view(begin + len + 1, size - len - 1);
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
