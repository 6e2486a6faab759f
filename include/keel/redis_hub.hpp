// keel/redis_hub.hpp: keel::hub across processes through Redis pub/sub (keel::redis_hub_backend).
//   keel::basic_hub<keel::redis_hub_backend> rooms(keel::hub_options{}, "redis://127.0.0.1:6379");
// Brings <keel/hub.hpp> and <keel/redis.hpp>.
#pragma once

#include "keel/hub.hpp"
#include "keel/redis.hpp"
#include "keel/redis/hub_backend.hpp"
