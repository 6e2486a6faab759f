// A string_view member would point into the parser's reused buffer: output only.
#include "keel/json/reader.hpp"
#include <string_view>
struct view_dto {
  std::string_view name;
};
int main() { (void)keel::json_io::read<view_dto>(std::string_view("{}")); }
