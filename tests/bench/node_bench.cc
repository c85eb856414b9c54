// Benchmark of a real daiban-node process (not a test; ./ops/bench.sh node):
//   - filing a case through the API (POST /api/cases, create + submit, synchronous=FULL):
//     p50/p99 latency and cases/s from one client, sequential;
//   - a signed-in GET on one keep-alive connection, as a browser sends it (p50/p99);
//   - resident memory (VmRSS) of an idle node after start-up and after the filings;
//   - size of the daiban-node binary.
//
//   node_bench --node BIN [--cases N]
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "common/flags.h"
#include "tests/integration/process_harness.h"

namespace daiban::bench {
namespace {

using common::Json;
using Clock = std::chrono::steady_clock;

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "node_bench: %s\n", why.c_str());
  std::exit(1);
}

}  // namespace

int Main(int argc, char** argv) {
  common::Flags flags = common::Flags::Parse(argc, argv, 1);
  std::string node = flags.Get("node");
  int64_t cases = flags.GetInt("cases", 2000).value();
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "daiban_node_bench";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string config = std::string(DAIBAN_SOURCE_DIR) + "/config";
  std::string data = (dir / "town").string();
  int port = testing::FreePort();
  if (testing::RunCommand({node, "init", "--data", data, "--region", "210921100000", "--tier", "township",
                           "--listen", "127.0.0.1:" + std::to_string(port), "--config", config,
                           "--insecure-plain-sync", "--new-data-key"}) != 0)
    Die("init failed");
  if (testing::RunCommand({node, "user", "add", "--data", data, "--name", "clerk1", "--role", "clerk"}, nullptr,
                          {"DAIBAN_PASSWORD=bench-password"}) != 0)
    Die("user add failed");
  // Started directly (not through Process) to read its pid.
  pid_t pid = fork();
  if (pid == 0) {
    freopen((dir / "node.log").c_str(), "w", stdout);
    execl(node.c_str(), node.c_str(), "serve", "--data", data.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (!testing::WaitHealthy(port)) Die("node did not start");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int64_t rss_idle = RssKb(pid);
  testing::ApiClient api(port);
  if (!api.Login("clerk1", "bench-password")) Die("login failed");
  std::vector<double> ms;
  auto t0 = Clock::now();
  for (int64_t i = 0; i < cases; ++i) {
    Json body = {{"item", "MZ-003"}, {"applicant_name", "测试" + std::to_string(i)},
                 {"applicant_id", "11010519491231002X"}, {"applicant_phone", "13800138000"},
                 {"materials", {"申请书"}}};
    auto s = Clock::now();
    int status = 0;
    api.Post("/api/cases", body, &status);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    if (status != 201) Die("filing failed with HTTP " + std::to_string(status));
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  // A browser keeps its connection open: the same API over one keep-alive connection.
  api.raw().set_keep_alive(true);
  std::vector<double> ka;
  for (int i = 0; i < 200; ++i) {
    auto s = Clock::now();
    int status = 0;
    api.Get("/api/status", &status);
    ka.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    if (status != 200) Die("status failed with HTTP " + std::to_string(status));
  }
  std::sort(ka.begin(), ka.end());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int64_t rss_after = RssKb(pid);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))]; };
  struct stat st{};
  stat(node.c_str(), &st);
  std::printf("| measure | value |\n|---|---:|\n");
  std::printf("| file a case (POST /api/cases: create + submit, synchronous=FULL), p50 ms | %.2f |\n", pct(0.5));
  std::printf("| same, p99 ms | %.2f |\n", pct(0.99));
  std::printf("| cases filed per second, one client in sequence | %.0f |\n", static_cast<double>(cases) / secs);
  std::printf("| GET /api/status on one keep-alive connection (as a browser), p50 / p99 ms | %.2f / %.2f |\n",
              ka[ka.size() / 2], ka[ka.size() * 99 / 100]);
  std::printf("| resident memory, idle after start, MB | %.1f |\n", static_cast<double>(rss_idle) / 1024);
  std::printf("| resident memory, idle after %lld filings, MB | %.1f |\n", static_cast<long long>(cases),
              static_cast<double>(rss_after) / 1024);
  std::printf("| daiban-node binary size (Release, not stripped), MB | %.1f |\n",
              static_cast<double>(st.st_size) / 1048576);
  std::printf("\n%lld cases filed at a township node through its HTTP API on loopback.\n", static_cast<long long>(cases));
  fs::remove_all(dir);
  return 0;
}

}  // namespace daiban::bench

int main(int argc, char** argv) { return daiban::bench::Main(argc, argv); }
