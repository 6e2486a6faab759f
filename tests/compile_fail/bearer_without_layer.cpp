// A handler takes the bearer token's claims, but the app has no keel::auth::jwt_bearer<Claims> layer: one
// message naming the route and saying which layer to add.
#include <keel.hpp>
#include <keel/auth/bearer.hpp>
#include <keel/test_client.hpp>

#include <string>

namespace cf {
struct claims {
  std::string sub{};
  long exp = 0;
};
}  // namespace cf

int main() {
  auto app =
      keel::app{keel::router{keel::get<"/me">([](keel::bearer<cf::claims> user) { return user->sub; })}};
  keel::test_client client{app};
  (void)client.get("/me");
}
