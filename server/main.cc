// daiban-hub: the city hub, root of the sync tree and authority for master data.
#include <csignal>

#include "server/hub_app.h"

int main(int argc, char** argv) {
  // A peer that drops a TLS connection (e.g. refusing our certificate) must be an error
  // on that request, not a SIGPIPE that kills the process.
  std::signal(SIGPIPE, SIG_IGN);
  // A store that may not grow past a file-size limit fails that write (SQLite reports a
  // disk I/O error and rolls the batch back), not a SIGXFSZ that kills the process.
  std::signal(SIGXFSZ, SIG_IGN);
  daiban::server::HubApp app;
  return app.Run(argc, argv);
}
