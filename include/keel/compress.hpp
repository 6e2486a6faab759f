// keel/compress.hpp: response compression (keel::compress) and request decompression
// (keel::decompress_requests). Include next to <keel.hpp> and link keel::compress (zlib and libbrotli).
#pragma once

#include "keel/config.hpp"
#include "keel/middleware/compress.hpp"
