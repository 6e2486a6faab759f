// OpenAPI 3.1 for a router: keel::openapi_docs (GET /openapi.json and Swagger UI at /docs) and the document
// builder behind it.
#pragma once

#include "keel/config.hpp"
#include "keel/openapi/docs.hpp"
#include "keel/openapi/document.hpp"
