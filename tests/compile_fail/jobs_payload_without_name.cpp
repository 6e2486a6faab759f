// A job type without `keel_job` (the name stored with each job) cannot get a handler.
#include "keel/jobs.hpp"

struct unnamed_job {
  int n;
};

int main() {
  keel::db db{":memory:"};
  keel::jobs::queue jobs{db};
  jobs.handle<unnamed_job>([](const unnamed_job&, keel::jobs::context&) {});
}
