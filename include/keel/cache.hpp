// keel/cache.hpp: keel::cache::cache<Store>, a typed cache (values through keel's JSON layer) with
// get_or_compute single-flight; memory_store (sharded LRU bounded in bytes, TTLs) by default, redis_store
// to share it between processes.
#pragma once

#include "keel/cache/cache.hpp"
#include "keel/cache/memory_store.hpp"
#include "keel/cache/redis_store.hpp"
#include "keel/cache/response_cache.hpp"
#include "keel/redis.hpp"
