// Lets keel::db open postgres:// URLs (libpq; link keel::postgres). The API is keel/sql.hpp's.
#pragma once

#include "keel/config.hpp"
#include "keel/sql.hpp"
#include "keel/sql/postgres.hpp"
