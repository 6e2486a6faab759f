// A settings field named like one of keel's flags (--port) would make one of the two unreachable.
#include "keel/settings.hpp"

struct app_settings {
  int port = 80;
};

int main(int argc, char** argv) { (void)keel::parse_app_command_line<app_settings>(argc, argv); }
