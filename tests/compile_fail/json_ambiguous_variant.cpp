// Two alternatives read from the same JSON type: the reader could not tell which one a value is.
#include "keel/json/reader.hpp"
#include <string>
#include <variant>
struct holder {
  std::variant<std::string, std::chrono::system_clock::time_point> v;
};
int main() { (void)keel::json_io::read<holder>(std::string_view("{}")); }
