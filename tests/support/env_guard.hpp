// Sets environment variables for one test and removes them afterwards.
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace keel_test {

class env_guard {
 public:
  env_guard(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [name, value] : vars) {
      ::setenv(name, value, 1);
      names_.push_back(name);
    }
  }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;
  ~env_guard() {
    for (const auto& n : names_) ::unsetenv(n.c_str());
  }

 private:
  std::vector<std::string> names_;
};

}  // namespace keel_test
