// A settings field whose type has no text form (here a nested struct) is refused with a readable message,
// not a wall of template errors.
#include "keel/settings.hpp"

#include <string>

struct endpoint {
  std::string host;
  int port;
};
struct app_settings {
  std::string name = "app";
  endpoint upstream{};
};

int main(int argc, char** argv) { (void)keel::parse_app_command_line<app_settings>(argc, argv); }
