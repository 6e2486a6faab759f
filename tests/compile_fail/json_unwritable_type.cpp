// A class that is neither a DTO nor has json_traits has no JSON form.
#include "keel/json/writer.hpp"
class opaque {
 public:
  explicit opaque(int v) : v_(v) {}

 private:
  int v_;
};
int main() { (void)keel::json_io::to_string(opaque{1}); }
