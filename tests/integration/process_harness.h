// Starts the real daiban-hub and daiban-node binaries on loopback for integration tests:
// each in its own temporary data directory, on a free port, stopped (SIGTERM, then
// SIGKILL) when the test ends. Readiness is polled on /api/health, bounded in time.
#ifndef DAIBAN_TESTS_INTEGRATION_PROCESS_HARNESS_H_
#define DAIBAN_TESTS_INTEGRATION_PROCESS_HARNESS_H_

#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"

extern char** environ;

namespace daiban::testing {

// A free loopback port (bind to 0, read it, close). Not httplib::Server: it keeps its
// socket open, with SO_REUSEPORT, and would take half the connections of the real server.
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Runs a command to completion; returns its exit code and stdout.
inline int RunCommand(const std::vector<std::string>& argv, std::string* out = nullptr,
                      const std::vector<std::string>& extra_env = {}) {
  std::string cmd;
  for (const auto& env : extra_env) cmd += env + " ";
  for (const auto& a : argv) {
    std::string q = a;
    size_t p = 0;
    while ((p = q.find('\'', p)) != std::string::npos) {
      q.replace(p, 1, "'\\''");
      p += 4;
    }
    cmd += "'" + q + "' ";
  }
  cmd += "2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    if (out) out->append(buf, n);
  int rc = pclose(f);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A started server process.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log) : argv_(std::move(argv)), log_(std::move(log)) {}
  ~Process() { Stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool Start() {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0;
  }
  // SIGTERM, wait up to 5 s, then SIGKILL.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }

 private:
  std::vector<std::string> argv_;
  std::string log_;
  pid_t pid_ = -1;
};

// Polls http://127.0.0.1:port/api/health for up to 10 s.
inline bool WaitHealthy(int port) {
  for (int i = 0; i < 200; ++i) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(0, 200000);
    auto r = c.Get("/api/health");
    if (r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// A signed-in JSON client of one node.
class ApiClient {
 public:
  explicit ApiClient(int port) : client_("127.0.0.1", port) { client_.set_read_timeout(30, 0); }
  bool Login(const std::string& user, const std::string& password) {
    int status = 0;
    common::Json r = Post("/api/login", {{"user", user}, {"password", password}}, &status);
    token_ = r.value("token", "");
    return status == 200 && !token_.empty();
  }
  common::Json Get(const std::string& path, int* status = nullptr) {
    auto r = client_.Get(path, Headers());
    return Reply(r, status);
  }
  common::Json Post(const std::string& path, const common::Json& body, int* status = nullptr) {
    auto r = client_.Post(path, Headers(), body.dump(), "application/json");
    return Reply(r, status);
  }
  httplib::Client& raw() { return client_; }
  const std::string& token() const { return token_; }

 private:
  httplib::Headers Headers() const {
    return token_.empty() ? httplib::Headers{} : httplib::Headers{{"Authorization", "Bearer " + token_}};
  }
  static common::Json Reply(const httplib::Result& r, int* status) {
    if (status) *status = r ? r->status : -1;
    if (!r) return common::Json{{"error", {{"message", "no answer: " + httplib::to_string(r.error())}}}};
    auto j = common::ParseJson(r->body);
    return j.ok() ? *j : common::Json{{"raw", r->body}};
  }
  httplib::Client client_;
  std::string token_;
};

}  // namespace daiban::testing

#endif  // DAIBAN_TESTS_INTEGRATION_PROCESS_HARNESS_H_
