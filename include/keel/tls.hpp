// Include next to <keel.hpp> to serve HTTPS (server_config::tls); plain-HTTP programs skip OpenSSL entirely.
#pragma once

#include "keel/config.hpp"
#include "keel/server/tls.hpp"
