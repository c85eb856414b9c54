// daiban-hub: the city hub, root of the sync tree and authority for master data.
#include "server/hub_app.h"

int main(int argc, char** argv) {
  daiban::server::HubApp app;
  return app.Run(argc, argv);
}
