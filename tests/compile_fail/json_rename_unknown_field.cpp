// keel_rename naming a field the struct does not have.
#include "keel/json/writer.hpp"
struct renamed {
  using keel_rename = keel::rename<"idd", "ID">;
  int id;
};
int main() { (void)keel::json_io::to_string(renamed{1}); }
