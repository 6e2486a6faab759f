// The jwt_bearer layer is on the /admin group, but a route outside it takes the bearer token's claims: the
// error names that route's path and says where the layer may go.
#include <keel.hpp>
#include <keel/auth.hpp>
#include <keel/test_client.hpp>

#include <string>

namespace cf {
struct claims {
  std::string sub{};
  long exp = 0;
};
}  // namespace cf

int main() {
  keel::auth::jwt_key key =
      keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, "0123456789abcdef0123456789abcdef");
  auto app =
      keel::app{keel::router{keel::group<"/admin">(keel::get<"/stats">([](keel::bearer<cf::claims> user) {
                               return user->sub;
                             })).use(keel::auth::jwt_bearer<cf::claims>{key}),
                             keel::get<"/me">([](keel::bearer<cf::claims> user) { return user->sub; })}};
  keel::test_client client{app};
  (void)client.get("/me");
}
