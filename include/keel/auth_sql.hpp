// keel/auth_sql.hpp: authentication stores kept in a keel::db (SQLite). Include after <keel/sql.hpp> and
// <keel/auth.hpp>; link keel::auth and SQLite.
//   keel/auth/sql_api_key_store.hpp  API keys: created (shown once), hashed, listed, revoked
#pragma once

#include "keel/config.hpp"
#include "keel/auth.hpp"
#include "keel/sql.hpp"
#include "keel/auth/sql_api_key_store.hpp"
