// keel::jobs: a durable background job queue in the app's database (SQLite by default, PostgreSQL with
// FOR UPDATE SKIP LOCKED). Typed payloads, handlers registered by type, enqueue inside the caller's
// transaction, retries with backoff, dead letters, delayed and unique jobs, cron schedules, leases and
// statistics; cron in UTC or a named zone (keel::jobs::time_zone). See docs/jobs.md.
#pragma once

#include "keel/config.hpp"
#include "keel/jobs/cron.hpp"
#include "keel/jobs/queue.hpp"
#include "keel/jobs/time_zone.hpp"
#include "keel/jobs/types.hpp"
