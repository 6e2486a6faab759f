// Include next to <keel.hpp> for WebSocket routes (keel::ws<"/path">(handler)): RFC 6455 with
// permessage-deflate (RFC 7692). Links OpenSSL's libcrypto (SHA-1 for the handshake) and zlib.
#pragma once

#include "keel/config.hpp"
#include "keel/json.hpp"
#include "keel/ws/handshake.hpp"
#include "keel/ws/json.hpp"
#include "keel/ws/options.hpp"
#include "keel/ws/protocol.hpp"
#include "keel/ws/route.hpp"
#include "keel/ws/websocket.hpp"
