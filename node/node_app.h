// The daiban-node application: parses the subcommand and runs it.
#ifndef DAIBAN_NODE_NODE_APP_H_
#define DAIBAN_NODE_NODE_APP_H_

namespace daiban::node {

class NodeApp {
 public:
  // Runs the subcommand in argv[1]. Returns the process exit code:
  // 0 success, 1 the command failed (message on stderr), 2 bad usage.
  int Run(int argc, char** argv);
};

}  // namespace daiban::node

#endif  // DAIBAN_NODE_NODE_APP_H_
