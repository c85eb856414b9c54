// daiban-node: the field node at a village proxy point, township or county centre.
#include "node/node_app.h"

int main(int argc, char** argv) {
  daiban::node::NodeApp app;
  return app.Run(argc, argv);
}
