// keel::sql::sql_error and its kinds: what a failed SQL call throws, with the engine's message and the SQL.
#pragma once

#include "keel/config.hpp"

#include <stdexcept>
#include <string>

namespace keel::inline v0::sql {

// Thrown by every SQL call that fails: the engine's message, plus the SQL text when there is one.
class sql_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A column's value does not fit the C++ type it is read into; the message names the column and both types.
class type_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// A unique/foreign-key/check constraint rejected a write (SQLITE_CONSTRAINT, SQLSTATE class 23).
class constraint_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// Applied migrations do not match the list the program carries (edited, reordered or unknown).
class migration_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// A synchronous SQL call on a reactor thread: it would stall every connection that reactor serves.
class blocking_call_error : public sql_error {
 public:
  using sql_error::sql_error;
};

}  // namespace keel::inline v0::sql
