// The daiban-hub application: parses the subcommand and runs it.
#ifndef DAIBAN_SERVER_HUB_APP_H_
#define DAIBAN_SERVER_HUB_APP_H_

namespace daiban::server {

class HubApp {
 public:
  // Runs the subcommand in argv[1]. Returns the process exit code:
  // 0 success, 1 the command failed (message on stderr), 2 bad usage.
  int Run(int argc, char** argv);
};

}  // namespace daiban::server

#endif  // DAIBAN_SERVER_HUB_APP_H_
