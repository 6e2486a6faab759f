// The README's tour of the operations headers, compiled (see core.cpp): `// snippet: NAME` regions are README
// blocks. Built where keel::log (fmt) is.
#include <keel.hpp>
#include <keel/health.hpp>
#include <keel/log.hpp>  // keel::log target: fmt
#include <keel/metrics.hpp>
#include <keel/sql.hpp>

#include <string>

namespace tour::operations {

inline void run(keel::db& db, const keel::server_config& cfg) {
  // snippet: operations
  keel::metrics metrics;  // GET /metrics, Prometheus text format 0.0.4
  metrics.watch(db);      // SQL pool gauges: in use, idle, waiting
  keel::health health;    // GET /healthz (liveness), GET /readyz (checks; 503 once shutdown begins)
  health.database(db);
  auto api = keel::router{
      keel::get<"/users/{id}">([](keel::request_context& ctx, int id) {
        keel::log_info(ctx, "user {} looked up", id);  // JSON line with request_id, trace_id, route
        return std::to_string(id);
      }),
      keel::health_routes(health),
  };
  keel::app{std::move(api)}
      .use(metrics, keel::request_id{}, keel::traceparent{}, keel::access_log{})
      .serve(cfg);
  // end snippet: operations
}

}  // namespace tour::operations

void (*tour_operations_run)(keel::db&, const keel::server_config&) = &tour::operations::run;
