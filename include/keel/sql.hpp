// keel's SQL layer in one include: keel::db, typed queries, transactions, migrations and the test fixtures.
// PostgreSQL is one more include (keel/postgres.hpp) and one more library (keel::postgres, libpq).
#pragma once

#include "keel/config.hpp"
#include "keel/sql/aggregate.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/json_column.hpp"
#include "keel/sql/migrate.hpp"
#include "keel/sql/page.hpp"
#include "keel/sql/query.hpp"
#include "keel/sql/testing.hpp"
#include "keel/sql/transaction.hpp"
