// keel::settings: an app's typed settings from defaults, a JSON file, the environment and flags, composed
// with keel's server flags into one command line with one --help, and the app commands (serve, routes,
// openapi, config, migrate). See docs/operations.md, "Configuration and CLI".
#pragma once

#include "keel/config.hpp"
#include "keel/settings/command_line.hpp"
#include "keel/settings/commands.hpp"
#include "keel/settings/secret.hpp"
