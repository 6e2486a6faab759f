// The route table as a segment trie built at compile time. Matching walks the path once, segment by segment
// (literal children by binary search, then the parameter child, then a tail parameter), instead of trying
// routes in turn, so dispatch cost depends on the path's depth, not on the number of routes.
#pragma once

#include "keel/config.hpp"
#include "keel/http/method.hpp"
#include "keel/router/path_template.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace keel::inline v0::detail {

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
    nodes.push_back({});
    for (std::size_t r = 0; r < count; ++r) insert(descs, r);
  }

  constexpr void insert(const route_desc* descs, std::size_t r) {
    std::string_view p = descs[r].path;
    std::size_t cur = 0;
    std::size_t i = 1;
    bool done = p.size() <= 1;
    while (!done) {
      std::size_t end = p.find('/', i);
      if (end == std::string_view::npos) {
        end = p.size();
        done = true;
      }
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
        std::size_t next = 0;
        bool found = false;
        for (const auto& e : nodes[cur].children)
          if (e.label == seg) {
            next = e.node;
            found = true;
          }
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
                [](const trie_edge& a, const trie_edge& b) { return a.label < b.label; });
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

template <std::size_t N, trie_sizes S>
consteval auto build_trie(const std::array<route_desc, N>& descs) {
  using T = trie<S.nodes, S.edges, S.leaves, S.routes>;
  return trie_builder(descs.data(), N).template flatten<T>(descs.data());
}

// Matches `rest` (the path after its leading '/'; `at_end` when nothing is left) from `node`. Captured
// parameter values go to params[depth...]. Returns the leaf index or -1.
template <class Trie>
constexpr int match_path(const Trie& t, std::size_t node, std::string_view rest, bool at_end,
                         std::string_view* params, std::size_t depth) {
  const trie_node& n = t.nodes[node];
  if (at_end) return n.leaf;
  std::size_t slash = rest.find('/');
  std::string_view seg = rest.substr(0, slash);
  std::string_view after = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  bool next_end = slash == std::string_view::npos;
  if (n.edge_count != 0) {
    const trie_edge* first = t.edges.data() + n.first_edge;
    const trie_edge* last = first + n.edge_count;
    // Few children: a linear scan over sorted labels beats binary search's branches.
    const trie_edge* it = first;
    if (n.edge_count > 8) {
      it = std::lower_bound(first, last, seg, [](const trie_edge& e, std::string_view s) { return e.label < s; });
    } else {
      while (it != last && it->label < seg) ++it;
    }
    if (it != last && it->label == seg) {
      int r = match_path(t, it->node, after, next_end, params, depth);
      if (r >= 0) return r;
    }
  }
  if (n.param_child >= 0 && !seg.empty()) {
    params[depth] = seg;
    int r = match_path(t, static_cast<std::size_t>(n.param_child), after, next_end, params, depth + 1);
    if (r >= 0) return r;
  }
  if (n.tail_leaf >= 0) {
    params[depth] = rest;
    return n.tail_leaf;
  }
  return -1;
}

}  // namespace keel::inline v0::detail
