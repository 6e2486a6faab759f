// Policies: what a bearer token's claims must allow before a route's handler runs, checked at compile time
// for their shape and at request time for their answer.
//
//   keel::post<"/articles">(&create).require<keel::scope<"articles:write">>()
//   keel::group<"/admin">(...).require<keel::role<"admin">>()
//   keel::del<"/articles/{slug}">(&remove).require<keel::any_of<keel::role<"admin">,
//   keel::scope<"articles:delete">>>() keel::get<"/me/settings">(&settings).require<keel::authenticated>() //
//   a valid token, nothing more
//
// A policy is a type with a static `check`, given the verified claims (and, if it wants, the request
// context), that answers bool or keel::policy_result (allow, or deny with a reason):
//
//   struct verified_email {
//     static keel::policy_result check(const claims& c) {
//       return c.email_verified ? keel::allow() : keel::deny("verify your e-mail address first");
//     }
//   };
//
// No token or an invalid one answers 401 (as keel::bearer<Claims> does); a policy that refuses answers 403
// with `WWW-Authenticate: Bearer realm=..., error="insufficient_scope", error_description=...` and, for
// keel::scope, `scope="<the scopes needed>"` (RFC 6750 section 3.1). Policies run in order; the first
// refusal answers. The claims are verified once per request, whether a policy or the handler asks first.
//
// Where scopes and roles come from: by default a `scope` member (a space-separated string, RFC 8693 / OAuth
// 2.0) or a `scp` or `scopes` member (an array of strings), and a `roles` member (an array of strings) or a
// `role` member (one string). Other shapes: specialize keel::auth::claims_traits<Claims>.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/bearer.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/router/fixed_string.hpp"

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

// A policy's answer: allowed, or refused with a reason (and, for scope policies, the scopes needed).
class policy_result {
 public:
  policy_result() = default;  // allowed
  static policy_result allow() { return {}; }
  static policy_result deny(std::string reason, std::string scope = {}) {
    policy_result r;
    r.allowed_ = false;
    r.reason_ = std::move(reason);
    r.scope_ = std::move(scope);
    return r;
  }
  bool allowed() const noexcept { return allowed_; }
  explicit operator bool() const noexcept { return allowed_; }
  const std::string& reason() const noexcept { return reason_; }
  const std::string& scope() const noexcept { return scope_; }

 private:
  bool allowed_ = true;
  std::string reason_;
  std::string scope_;
};

inline policy_result allow() { return policy_result::allow(); }
inline policy_result deny(std::string reason, std::string scope = {}) {
  return policy_result::deny(std::move(reason), std::move(scope));
}

}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace auth {

namespace detail {
template <class C>
concept string_member = std::convertible_to<const C&, std::string_view>;
template <class C>
concept string_list = requires(const C& c) {
  { *c.begin() } -> std::convertible_to<std::string_view>;
  c.end();
};

inline bool space_separated_contains(std::string_view list, std::string_view word) noexcept {
  while (!list.empty()) {
    const std::size_t end = list.find(' ');
    const std::string_view item = list.substr(0, end);
    if (item == word) return true;
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  return false;
}

template <class M>
bool member_contains(const M& m, std::string_view word) {
  if constexpr (requires {
                  m.has_value();
                  *m;
                }) {
    return m.has_value() && member_contains(*m, word);
  } else if constexpr (string_member<M>) {
    return space_separated_contains(std::string_view(m), word);
  } else {
    for (const auto& item : m)
      if (std::string_view(item) == word) return true;
    return false;
  }
}

template <class M>
concept scope_like = string_member<M> || string_list<M> || requires(const M& m) {
  m.has_value();
  requires string_member<std::remove_cvref_t<decltype(*m)>> || string_list<std::remove_cvref_t<decltype(*m)>>;
};
}  // namespace detail

// How policies read scopes and roles from a claims type. Specialize for other shapes:
//   template <> struct keel::auth::claims_traits<my_claims> {
//     static bool has_scope(const my_claims& c, std::string_view s);
//     static bool has_role(const my_claims& c, std::string_view r);
//   };
template <class Claims>
struct claims_traits {
  static bool has_scope(const Claims& c, std::string_view s) {
    if constexpr (requires { c.scope; } && detail::scope_like<decltype(c.scope)>) {
      return detail::member_contains(c.scope, s);
    } else if constexpr (requires { c.scp; } && detail::scope_like<decltype(c.scp)>) {
      return detail::member_contains(c.scp, s);
    } else if constexpr (requires { c.scopes; } && detail::scope_like<decltype(c.scopes)>) {
      return detail::member_contains(c.scopes, s);
    } else {
      static_assert(
          sizeof(Claims) == 0,
          "keel::scope<...> needs scopes in the claims: a `scope` member (space-separated string), a "
          "`scp` or `scopes` member (array of strings), or a keel::auth::claims_traits<Claims> "
          "specialization with has_scope");
      return false;
    }
  }
  static bool has_role(const Claims& c, std::string_view r) {
    if constexpr (requires { c.roles; } && detail::scope_like<decltype(c.roles)>) {
      return detail::member_contains(c.roles, r);
    } else if constexpr (requires { c.role; } && detail::scope_like<decltype(c.role)>) {
      return detail::member_contains(c.role, r);
    } else {
      static_assert(
          sizeof(Claims) == 0,
          "keel::role<...> needs roles in the claims: a `roles` member (array of strings), a `role` "
          "member (string), or a keel::auth::claims_traits<Claims> specialization with has_role");
      return false;
    }
  }
};

}  // namespace auth
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

namespace detail {
template <class R>
policy_result to_policy_result(R&& r) {
  if constexpr (std::is_same_v<std::remove_cvref_t<R>, policy_result>)
    return std::forward<R>(r);
  else
    return r ? policy_result{} : policy_result::deny("not allowed");
}
}  // namespace detail

// A type usable in .require<...>() for requests whose claims are a Claims and whose context is a Ctx.
template <class P, class Claims, class Ctx>
concept Policy = requires(const Claims& c) {
  { P::check(c) } -> std::convertible_to<policy_result>;
}
|| requires(const Claims& c) {
  { P::check(c) } -> std::convertible_to<bool>;
}
|| requires(const Claims& c, Ctx& ctx) {
  { P::check(c, ctx) } -> std::convertible_to<policy_result>;
}
|| requires(const Claims& c, Ctx& ctx) {
  { P::check(c, ctx) } -> std::convertible_to<bool>;
};

namespace detail {
template <class P, class Claims, class Ctx>
policy_result run_policy(const Claims& c, Ctx& ctx) {
  static_assert(Policy<P, Claims, Ctx>,
                "keel: a policy (type shown) needs `static bool check(const Claims&)` or `static "
                "keel::policy_result check(const Claims&[, Ctx&])`");
  if constexpr (requires { P::check(c, ctx); })
    return to_policy_result(P::check(c, ctx));
  else
    return to_policy_result(P::check(c));
}

template <fixed_string... Words>
std::string joined_words() {
  std::string out;
  ((out.append(out.empty() ? "" : " ").append(Words.view())), ...);
  return out;
}
}  // namespace detail

// Any valid token.
struct authenticated {
  template <class Claims>
  static bool check(const Claims&) noexcept {
    return true;
  }
};

// Every one of these scopes (OAuth 2.0 scopes: "articles:write").
template <fixed_string... Scopes>
struct scope {
  static_assert(sizeof...(Scopes) > 0, "keel::scope<...> names at least one scope");
  template <class Claims>
  static policy_result check(const Claims& c) {
    const bool ok = (auth::claims_traits<Claims>::has_scope(c, Scopes.view()) && ...);
    if (ok) return {};
    const std::string needed = detail::joined_words<Scopes...>();
    return policy_result::deny("the token lacks the scope " + needed, needed);
  }
  static void keel_security_scopes(std::vector<std::string>& out) { (out.emplace_back(Scopes.view()), ...); }
};

// Every one of these roles.
template <fixed_string... Roles>
struct role {
  static_assert(sizeof...(Roles) > 0, "keel::role<...> names at least one role");
  template <class Claims>
  static policy_result check(const Claims& c) {
    const bool ok = (auth::claims_traits<Claims>::has_role(c, Roles.view()) && ...);
    if (ok) return {};
    return policy_result::deny("this needs the role " + detail::joined_words<Roles...>());
  }
  static void keel_security_scopes(std::vector<std::string>& out) { (out.emplace_back(Roles.view()), ...); }
};

// At least one of these policies (the reasons of all, when none allows).
template <class... Ps>
struct any_of {
  static_assert(sizeof...(Ps) > 0, "keel::any_of<...> names at least one policy");
  template <class Claims, class Ctx>
  static policy_result check(const Claims& c, Ctx& ctx) {
    std::string reasons, scopes;
    bool ok = false;
    (void)((ok =
                [&] {
                  policy_result r = detail::run_policy<Ps>(c, ctx);
                  if (r) return true;
                  reasons.append(reasons.empty() ? "" : "; or ").append(r.reason());
                  if (!r.scope().empty()) scopes.append(scopes.empty() ? "" : " ").append(r.scope());
                  return false;
                }()) ||
           ...);
    if (ok) return {};
    return policy_result::deny(reasons, scopes);
  }
};

namespace detail {

template <class P>
void collect_security_scopes(std::vector<std::string>& out) {
  if constexpr (requires { P::keel_security_scopes(out); }) P::keel_security_scopes(out);
}

template <class Ctx>
struct policy_layer_needs_bearer {
  static_assert(sizeof(Ctx) == 0,
                "keel: .require<...>() checks a bearer token's claims, but no keel::auth::jwt_bearer<Claims> "
                "layer is in the app: add .use(keel::auth::jwt_bearer<Claims>{keys, options}) to the app");
  static constexpr bool ok = false;
};
template <class Ctx>
struct policy_layer_ambiguous_claims {
  static_assert(
      sizeof(Ctx) == 0,
      "keel: .require<...>() found several keel::auth::jwt_bearer<Claims> layers with different claims "
      "types in this app; use one claims type");
  static constexpr bool ok = false;
};

// The middleware .require<Ps...>() adds (declared in keel/router/route.hpp).
template <class... Ps>
struct policy_layer {
  // For the OpenAPI generator: a bearer token is needed, a 403 is possible, and these scopes/roles.
  static constexpr std::string_view keel_security = "bearer";
  static constexpr bool keel_security_forbids = true;
  // For the router's compile-time check: a jwt_bearer layer (of any claims type) runs before this one.
  using keel_needs_state = auth::detail::any_bearer_state;
  static std::vector<std::string> keel_security_scopes() {
    std::vector<std::string> out;
    (collect_security_scopes<Ps>(out), ...);
    return out;
  }

  template <class Ctx>
  flow before(Ctx& ctx) const {
    using find = auth::detail::find_bearer_state<typename Ctx::states_type>;
    if constexpr (find::count == 0) {
      return policy_layer_needs_bearer<Ctx>::ok ? flow::next : flow::respond;
    } else if constexpr (find::count > 1) {
      return policy_layer_ambiguous_claims<Ctx>::ok ? flow::next : flow::respond;
    } else {
      using S = typename find::type;
      S& st = ctx.template state<S>();
      if (st.config == nullptr) auth::detail::no_bearer_layer_on_route<S>();
      const auto& claims = auth::detail::authenticate(ctx, st);
      if (!claims) {
        ctx.fail(auth::detail::unauthenticated_error(st));
        return flow::respond;
      }
      bool ok = true;
      (void)((ok = check_one<Ps>(*claims, ctx, st)) && ...);
      return ok ? flow::next : flow::respond;
    }
  }

 private:
  template <class P, class Claims, class Ctx, class S>
  static bool check_one(const Claims& claims, Ctx& ctx, const S& st) {
    policy_result r = run_policy<P>(claims, ctx);
    if (r) return true;
    http_error e(http::status::forbidden, r.reason().empty() ? std::string("not allowed") : r.reason(),
                 "insufficient_scope");
    e.with_header("WWW-Authenticate", auth::detail::bearer_challenge(st.config->options, "insufficient_scope",
                                                                     e.message(), r.scope()));
    ctx.fail(e);
    return false;
  }
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
