// .require<...>() on a route that no jwt_bearer layer runs before (the layer is on another group): the error
// names the route's path.
#include <keel.hpp>
#include <keel/auth.hpp>
#include <keel/test_client.hpp>

#include <string>

namespace cf {
struct claims {
  std::string sub{};
  std::string scope{};
  long exp = 0;
};
}  // namespace cf

int main() {
  keel::auth::jwt_key key =
      keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, "0123456789abcdef0123456789abcdef");
  auto app = keel::app{
      keel::router{keel::group<"/me">(keel::get<"/">([](keel::bearer<cf::claims> user) {
                     return user->sub;
                   })).use(keel::auth::jwt_bearer<cf::claims>{key}),
                   keel::get<"/reports">([] { return "all"; }).require<keel::scope<"reports:read">>()}};
  keel::test_client client{app};
  (void)client.get("/reports");
}
