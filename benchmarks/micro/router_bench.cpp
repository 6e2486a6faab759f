// Router dispatch (Google Benchmark): ns per dispatch for ROUTE_COUNT routes (10, 100, 500...; this file is
// compiled once per count), for a static path, one parameter, two parameters and a miss, through keel's
// compile-time trie and through a runtime trie (written below) that does the same work: same context, same
// handlers' effect (status set, an int parameter parsed), the same 404 on a miss.
#include "keel/router/router.hpp"

#include "keel/context.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#ifndef ROUTE_COUNT
#define ROUTE_COUNT 10
#endif

namespace {

constexpr std::size_t route_count = ROUTE_COUNT;
using bench_context = keel::context<std::tuple<>, std::tuple<>>;

// Route i: kind i % 3 is static "/s<i>/page", one parameter "/p<i>/items/{id}", or two parameters
// "/q<i>/items/{id}/tags/{tag}"; <i> is three digits so every path of a kind has the same length.
template <std::size_t I>
consteval auto route_path() {
  constexpr char digits[] = {static_cast<char>('0' + I / 100 % 10), static_cast<char>('0' + I / 10 % 10),
                             static_cast<char>('0' + I % 10), '\0'};
  constexpr keel::fixed_string<4> number(digits);
  if constexpr (I % 3 == 0)
    return keel::fixed_string("/s") + number + keel::fixed_string("/page");
  else if constexpr (I % 3 == 1)
    return keel::fixed_string("/p") + number + keel::fixed_string("/items/{id}");
  else
    return keel::fixed_string("/q") + number + keel::fixed_string("/items/{id}/tags/{tag}");
}

template <std::size_t I>
auto make_route() {
  if constexpr (I % 3 == 0)
    return keel::get<route_path<I>()>([] { return keel::status_only{keel::http::status::ok}; });
  else if constexpr (I % 3 == 1)
    return keel::get<route_path<I>()>([](int id) {
      return keel::status_only{id >= 0 ? keel::http::status::ok : keel::http::status::bad_request};
    });
  else
    return keel::get<route_path<I>()>([](int id, std::string_view tag) {
      return keel::status_only{id >= 0 && !tag.empty() ? keel::http::status::ok
                                                       : keel::http::status::bad_request};
    });
}

template <std::size_t... Is>
auto make_router(std::index_sequence<Is...>) {
  return keel::router{make_route<Is>()...};
}

const auto& compiled_router() {
  static const auto r = make_router(std::make_index_sequence<route_count>{});
  return r;
}

// --- the runtime trie: what a router that registers routes at start-up does (sorted children, binary search,
// one parameter child per node, handlers behind std::function).
struct runtime_trie {
  using handler = std::function<void(bench_context&, const std::string_view*)>;
  struct node {
    std::vector<std::pair<std::string, std::size_t>> children;  // sorted by label
    std::size_t param_child = 0;                                // 0 = none (node 0 is the root)
    handler leaf;
  };
  std::vector<node> nodes{1};

  void add(std::string_view path, handler h) {
    std::size_t cur = 0;
    path.remove_prefix(1);
    while (!path.empty()) {
      const std::size_t slash = path.find('/');
      const std::string_view seg = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
      if (seg.front() == '{') {
        if (nodes[cur].param_child == 0) {
          nodes[cur].param_child = nodes.size();
          nodes.emplace_back();
        }
        cur = nodes[cur].param_child;
        continue;
      }
      auto& kids = nodes[cur].children;
      auto it = std::lower_bound(kids.begin(), kids.end(), seg, [](const auto& e, std::string_view s) {
        return std::string_view(e.first) < s;
      });
      if (it == kids.end() || it->first != seg) {
        const std::size_t fresh = nodes.size();
        it = kids.insert(it, {std::string(seg), fresh});
        nodes.emplace_back();  // may move `kids`: `it` is not used after this
      }
      cur = it->second;
    }
    nodes[cur].leaf = std::move(h);
  }

  const node* match(std::size_t at, std::string_view rest, std::string_view* params,
                    std::size_t depth) const {
    const node& n = nodes[at];
    if (rest.empty()) return n.leaf ? &n : nullptr;
    const std::size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const std::string_view after =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    const auto& kids = n.children;
    auto it = std::lower_bound(kids.begin(), kids.end(), seg, [](const auto& e, std::string_view s) {
      return std::string_view(e.first) < s;
    });
    if (it != kids.end() && it->first == seg)
      if (const node* r = match(it->second, after, params, depth)) return r;
    if (n.param_child != 0 && !seg.empty()) {
      params[depth] = seg;
      if (const node* r = match(n.param_child, after, params, depth + 1)) return r;
    }
    return nullptr;
  }

  void dispatch(bench_context& ctx) const {
    std::string_view* params = keel::detail::context_access::param_slots(ctx).data();
    const node* n = match(0, ctx.request().path.substr(1), params, 0);
    if (n == nullptr) {
      ctx.fail(keel::http_error(keel::http::status::not_found));
      return;
    }
    n->leaf(ctx, params);
  }
};

int parse_int(std::string_view s) {
  int v = -1;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

template <std::size_t... Is>
runtime_trie make_runtime_trie(std::index_sequence<Is...>) {
  runtime_trie t;
  auto add = [&t]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    constexpr auto path = route_path<I>();
    if constexpr (I % 3 == 0)
      t.add(path.view(), [](bench_context& ctx, const std::string_view*) {
        ctx.response().status(keel::http::status::ok);
      });
    else if constexpr (I % 3 == 1)
      t.add(path.view(), [](bench_context& ctx, const std::string_view* p) {
        ctx.response().status(parse_int(p[0]) >= 0 ? keel::http::status::ok
                                                   : keel::http::status::bad_request);
      });
    else
      t.add(path.view(), [](bench_context& ctx, const std::string_view* p) {
        ctx.response().status(parse_int(p[0]) >= 0 && !p[1].empty() ? keel::http::status::ok
                                                                    : keel::http::status::bad_request);
      });
  };
  (add(std::integral_constant<std::size_t, Is>{}), ...);
  return t;
}

const runtime_trie& dynamic_router() {
  static const runtime_trie t = make_runtime_trie(std::make_index_sequence<route_count>{});
  return t;
}

// A path that hits the middle route of each kind (or nothing), as the request's path.
std::string target_for(int kind) {
  std::size_t i = route_count / 2;
  while (i % 3 != static_cast<std::size_t>(kind % 3)) ++i;
  if (i >= route_count) i -= 3;
  char number[4];
  number[0] = static_cast<char>('0' + i / 100 % 10);
  number[1] = static_cast<char>('0' + i / 10 % 10);
  number[2] = static_cast<char>('0' + i % 10);
  number[3] = '\0';
  switch (kind) {
    case 0:
      return std::string("/s") + number + "/page";
    case 1:
      return std::string("/p") + number + "/items/42";
    case 2:
      return std::string("/q") + number + "/items/42/tags/blue";
    default:
      return std::string("/p") + number + "/elsewhere/42";  // a miss below a real prefix
  }
}

template <class Dispatch>
void run(benchmark::State& state, int kind, Dispatch dispatch) {
  const std::string path = target_for(kind);
  bench_context ctx;
  ctx.request().method = keel::http::method::get;
  ctx.request().path = path;
  const int expected = kind == 3 ? 404 : 200;
  dispatch(ctx);
  if (ctx.response().status_code() != expected) {
    state.SkipWithError(("unexpected status for " + path).c_str());
    return;
  }
  for (auto _ : state) {
    ctx.response().reset();
    dispatch(ctx);
    benchmark::DoNotOptimize(ctx.response());
  }
  state.counters["routes"] = static_cast<double>(route_count);
}

const char* const kind_names[] = {"static", "one_param", "two_params", "miss"};

const bool registered = [] {
  for (int kind = 0; kind < 4; ++kind) {
    const std::string suffix = std::string(kind_names[kind]) + "/routes:" + std::to_string(route_count);
    benchmark::RegisterBenchmark(("compile_time_trie/" + suffix).c_str(), [kind](benchmark::State& s) {
      run(s, kind, [](bench_context& ctx) { (void)compiled_router().dispatch(ctx); });
    });
    benchmark::RegisterBenchmark(("runtime_trie/" + suffix).c_str(), [kind](benchmark::State& s) {
      run(s, kind, [](bench_context& ctx) { dynamic_router().dispatch(ctx); });
    });
  }
  return true;
}();

}  // namespace
