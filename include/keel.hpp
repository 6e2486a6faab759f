// keel: the whole public API in one include. scripts/amalgamate turns this file into single_include/keel.hpp.
#pragma once

#include "keel/config.hpp"
#include "keel/fwd.hpp"

#include "keel/error.hpp"
#include "keel/http/method.hpp"
#include "keel/http/request.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"
#include "keel/server/config.hpp"

#include "keel/app.hpp"
#include "keel/context.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/cookie.hpp"
#include "keel/extractors/header.hpp"
#include "keel/middleware/access_log.hpp"
#include "keel/middleware/cors.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/middleware/request_id.hpp"
#include "keel/middleware/security_headers.hpp"
#include "keel/respond.hpp"
#include "keel/router/route.hpp"
#include "keel/router/router.hpp"
#include "keel/serve.hpp"
#include "keel/task.hpp"
