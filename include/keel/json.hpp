// keel/json.hpp: typed JSON for handlers: DTO reflection, reading (simdjson) and writing, validator types,
// DTO responders, and the extractors that read DTOs (keel::json<T>, keel::query<T>, keel::form<T>). The
// functions live in keel::json_io (keel::json<T> is the request-body extractor).
#pragma once

#include "keel/config.hpp"
#include "keel/extractors/form.hpp"
#include "keel/extractors/json.hpp"
#include "keel/extractors/query.hpp"
#include "keel/json/nullable.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/response.hpp"
#include "keel/json/writer.hpp"
#include "keel/multipart.hpp"
#include "keel/validate/formats.hpp"
#include "keel/validate/rules.hpp"
#include "keel/validate/validated.hpp"
