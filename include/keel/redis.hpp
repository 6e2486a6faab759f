// keel/redis.hpp: a Redis client on keel's reactors. keel::redis::client sends commands over one pipelined
// connection (co_await c.get(k), c.command("INCR", k), c.exec(batch)); keel::redis::subscriber is a pub/sub
// connection that resubscribes after reconnecting. RESP2, timeouts, reconnect with backoff; URLs
// redis://[[user]:password@]host[:port][/db]. Standalone Asio only: no library to link.
#pragma once

#include "keel/redis/client.hpp"
#include "keel/redis/config.hpp"
#include "keel/redis/io_thread.hpp"
#include "keel/redis/reply.hpp"
#include "keel/redis/session_store.hpp"
#include "keel/redis/subscriber.hpp"
