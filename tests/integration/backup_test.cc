// Backup and restore of a node's and the hub's data directory, against the real binaries on
// loopback: a backup taken while the node serves and is written to, a restore refused while
// the server runs and done once it is stopped, a damaged backup refused by name, a renewed
// certificate kept over the backup's, and the restored node (or hub) catching up by sync.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/pki.h"
#include "common/sqlite.h"
#include "tests/integration/process_harness.h"

namespace daiban::testing {
namespace {

using common::Json;
namespace fs = std::filesystem;

constexpr const char* kPassword = "secret-pass-1";
constexpr const char* kVillageId = "v210921100202";
// Personal data the test files: it must never appear whole in what the commands print.
const std::string kIdNumber = std::string("110105194912") + "31002X";
const std::string kPhone = std::string("1380013") + "8000";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True if `out` is exactly the one line `prefix` + "N files, SIZE kB|MB" that backup prints.
// (No std::regex: GCC 12 warns inside it under the sanitizers, and warnings are errors.)
bool IsBackupLine(const std::string& out, const std::string& prefix) {
  if (out.rfind(prefix, 0) != 0 || out.find('\n') != out.size() - 1) return false;
  std::istringstream rest(out.substr(prefix.size()));
  int64_t files = 0;
  double size = 0;
  std::string files_word, unit, tail;
  rest >> files >> files_word >> size >> unit;
  std::getline(rest, tail);
  return files > 0 && files_word == "files," && size > 0 && (unit == "kB" || unit == "MB") && tail.empty();
}

unsigned Mode(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

// A city of a hub and one village node syncing with it over mutual TLS.
class BackupCity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("daiban_backup_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string config = std::string(DAIBAN_SOURCE_DIR) + "/config";
    const std::string pki = (dir_ / "pki").string(), script = std::string(DAIBAN_SOURCE_DIR) + "/ops/pki.sh";
    hub_port_ = FreePort();
    hub_sync_port_ = FreePort();
    village_port_ = FreePort();
    ASSERT_EQ(RunCommand({script, "ca", pki}), 0);
    ASSERT_EQ(RunCommand({script, "hub", pki, "--region", "210900000000", "--host", "127.0.0.1"}), 0);
    ASSERT_EQ(RunCommand({DAIBAN_HUB_BIN, "init", "--data", Hub(), "--region", "210900000000", "--listen",
                          Addr(hub_port_), "--sync-listen", Addr(hub_sync_port_), "--pki", pki, "--config",
                          config, "--cert-validity-s", HubCertValidity()}),
              0);
    ASSERT_EQ(
        RunCommand({DAIBAN_HUB_BIN, "user", "add", "--data", Hub(), "--name", "sup1", "--role", "supervisor"},
                   nullptr, {std::string("DAIBAN_PASSWORD=") + kPassword}),
        0);
    std::string code;
    ASSERT_EQ(RunCommand(
                  {DAIBAN_HUB_BIN, "enrol", "--data", Hub(), "--region", "210921100202", "--tier", "village"},
                  &code),
              0);
    while (!code.empty() && code.back() == '\n') code.pop_back();
    StartHub();
    ASSERT_EQ(RunCommand({DAIBAN_NODE_BIN,
                          "init",
                          "--data",
                          Village(),
                          "--region",
                          "210921100202",
                          "--tier",
                          "village",
                          "--listen",
                          Addr(village_port_),
                          "--parent-url",
                          "https://" + Addr(hub_sync_port_),
                          "--parent-id",
                          "hub",
                          "--enrol-code",
                          code,
                          "--hub-url",
                          "https://" + Addr(hub_sync_port_),
                          "--ca",
                          pki + "/ca.crt",
                          "--config",
                          config,
                          "--sync-interval-s",
                          "1",
                          "--backoff-max-s",
                          "2"}),
              0);
    ASSERT_EQ(RunCommand({DAIBAN_NODE_BIN, "user", "add", "--data", Village(), "--name", "agent1", "--role",
                          "agent"},
                         nullptr, {std::string("DAIBAN_PASSWORD=") + kPassword}),
              0);
  }
  void TearDown() override {
    procs_.clear();
    for (const auto& out : outputs_) {
      EXPECT_EQ(out.find(kIdNumber), std::string::npos) << "a whole ID number in:\n" << out;
      EXPECT_EQ(out.find(kPhone), std::string::npos) << "a whole phone number in:\n" << out;
    }
    std::string out;
    EXPECT_EQ(RunCommand({DAIBAN_NODE_BIN, "scan-pii", dir_.string()}, &out), 0) << out;
    if (!HasFailure()) fs::remove_all(dir_);
  }
  virtual std::string HubCertValidity() const { return "2592000"; }

  static std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }
  std::string Hub() const { return (dir_ / "hub").string(); }
  std::string Village() const { return (dir_ / "village").string(); }
  std::string At(const std::string& name) const { return (dir_ / name).string(); }

  Process* Start(std::vector<std::string> argv, const std::string& name, int port) {
    procs_.push_back(std::make_unique<Process>(std::move(argv), (dir_ / (name + ".log")).string()));
    EXPECT_TRUE(procs_.back()->Start());
    EXPECT_TRUE(WaitHealthy(port)) << name << " did not start; see " << (dir_ / (name + ".log"));
    return procs_.back().get();
  }
  Process* StartHub() { return Start({DAIBAN_HUB_BIN, "serve", "--data", Hub()}, "hub", hub_port_); }
  Process* StartVillage() {
    return Start({DAIBAN_NODE_BIN, "serve", "--data", Village()}, "village", village_port_);
  }

  // Runs a command; its exit code, and stdout and stderr together (kept for the PII check).
  int Run(const std::vector<std::string>& argv, std::string* out) {
    std::string cmd;
    for (const auto& a : argv) {
      std::string q = a;
      for (size_t p = 0; (p = q.find('\'', p)) != std::string::npos; p += 4) q.replace(p, 1, "'\\''");
      cmd += "'" + q + "' ";
    }
    out->clear();
    int rc = RunCommand({"/bin/sh", "-c", cmd + "2>&1"}, out);
    outputs_.push_back(*out);
    return rc;
  }

  static bool FileCase(ApiClient& api) {
    int status = 0;
    Json r = api.Post("/api/cases",
                      {{"item", "MZ-003"},
                       {"applicant_name", "王芳"},
                       {"applicant_id", kIdNumber},
                       {"applicant_phone", kPhone},
                       {"materials", Json::array({"申请书"})}},
                      &status);
    return status == 201;
  }
  static Json SyncNow(ApiClient& api) {
    int status = 0;
    Json r = api.Post("/api/sync?wait=1", Json::object(), &status);
    EXPECT_EQ(status, 200) << r.dump();
    return r;
  }
  // Cases in a store, opened immutable: no -wal/-shm files beside it (in a backup they
  // would be files BACKUP.txt does not list).
  static int64_t CaseCount(const fs::path& db_file) {
    common::DbOptions immutable;
    immutable.immutable = true;
    auto db = common::Db::Open(db_file.string(), immutable);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return -1;
    auto q = (*db)->Prepare("SELECT count(*) FROM cases");
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    if (!q.ok()) return -1;
    auto row = (*q)->Step();
    return row.ok() && *row ? (*q)->ColumnInt(0) : -1;
  }
  // The one DIR.before-restore-* beside `dir`, or "" if there is none.
  std::string BeforeRestore(const std::string& dir) const {
    std::string found;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().string().rfind(dir + ".before-restore-", 0) == 0) {
        EXPECT_TRUE(found.empty()) << "two directories moved aside";
        found = e.path().string();
      }
    }
    return found;
  }
  static int64_t Serial(const fs::path& cert) {
    auto info = common::ReadNodeCert(ReadText(cert));
    EXPECT_TRUE(info.ok()) << cert;
    return info.ok() ? info->identity.serial : -1;
  }

  fs::path dir_;
  int hub_port_ = 0, hub_sync_port_ = 0, village_port_ = 0;
  std::vector<std::unique_ptr<Process>> procs_;
  std::vector<std::string> outputs_;
};

TEST_F(BackupCity, NodeBackupWhileServingAndWritten_RestoreAfterStopBringsItBackAndItCatchesUp) {
  Process* village = StartVillage();
  ApiClient api(village_port_);
  ASSERT_TRUE(api.Login("agent1", kPassword));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(FileCase(api));

  // The backup runs while an agent keeps filing cases.
  std::atomic<bool> stop{false};
  std::atomic<int> filed{0};
  std::thread agent([&] {
    ApiClient a(village_port_);
    if (!a.Login("agent1", kPassword)) return;
    while (!stop) filed += FileCase(a) ? 1 : 0;
  });
  for (int i = 0; i < 200 && filed < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string b1 = At("backup-1");
  std::string out;
  const int filed_before = filed;
  int rc = Run({DAIBAN_NODE_BIN, "backup", "--data", Village(), "--to", b1}, &out);
  const int filed_meanwhile = filed - filed_before;
  stop = true;
  agent.join();
  ASSERT_EQ(rc, 0) << out;
  EXPECT_GT(filed_meanwhile, 0) << "no case was filed while the backup ran: the test proves less";
  EXPECT_TRUE(IsBackupLine(out, "backup of v210921100202 in " + b1 + ": 2 databases, ")) << out;
  ASSERT_GE(filed.load(), 2);

  // The backup: complete, private, consistent, without what only a running node uses.
  auto manifest = common::CheckBackup(b1);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(Mode(b1), 0700u);
  EXPECT_EQ(Mode(fs::path(b1) / "data.key"), 0600u);
  EXPECT_EQ(Mode(fs::path(b1) / "tls" / "node.key"), 0600u);
  for (const char* f :
       {"node.conf", "node.db", "users.db", "tls/node.crt", "tls/ca.crt", "master/catalog/items.csv"}) {
    EXPECT_TRUE(fs::exists(fs::path(b1) / f)) << f;
  }
  for (const char* f : {"node.db-wal", "node.db-shm", "cli.token", "serve.lock"}) {
    EXPECT_FALSE(fs::exists(fs::path(b1) / f)) << f;
  }
  std::string list = ReadText(fs::path(b1) / "BACKUP.txt");
  EXPECT_NE(list.find("of: v210921100202\n"), std::string::npos) << list;
  EXPECT_NE(list.find("software: daiban-node "), std::string::npos) << list;
  const int64_t backed_up = CaseCount(fs::path(b1) / "node.db");
  EXPECT_GE(backed_up, 3 + 2);
  EXPECT_LE(backed_up, 3 + filed.load());
  EXPECT_TRUE(common::CheckBackup(b1).ok()) << "reading the backup changed it";

  // Each backup goes into a new directory.
  EXPECT_EQ(Run({DAIBAN_NODE_BIN, "backup", "--data", Village(), "--to", b1}, &out), 1);
  EXPECT_NE(out.find(b1 + ": it exists already"), std::string::npos) << out;

  // More work after the backup, synced up to the hub.
  ASSERT_TRUE(FileCase(api));
  ASSERT_TRUE(FileCase(api));
  Json synced = SyncNow(api);
  EXPECT_EQ(synced.value("pending", -1), 0) << synced.dump();
  const size_t total = api.Get("/api/cases")["cases"].size();
  EXPECT_EQ(total, static_cast<size_t>(3 + filed.load() + 2));

  // No restore under the running node.
  EXPECT_EQ(Run({DAIBAN_NODE_BIN, "restore", "--data", Village(), "--from", b1}, &out), 1);
  EXPECT_NE(out.find("the node is running"), std::string::npos) << out;
  EXPECT_NE(out.find("stop it first"), std::string::npos) << out;
  EXPECT_EQ(BeforeRestore(Village()), "");

  // A damaged backup is refused, naming the file, before anything is touched.
  village->Stop();
  const std::string b2 = At("backup-2");
  fs::copy(b1, b2, fs::copy_options::recursive);
  {
    std::fstream f(fs::path(b2) / "users.db", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  EXPECT_EQ(Run({DAIBAN_NODE_BIN, "restore", "--data", Village(), "--from", b2}, &out), 1);
  EXPECT_NE(out.find("users.db differs from BACKUP.txt"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was changed"), std::string::npos) << out;
  EXPECT_EQ(BeforeRestore(Village()), "");

  // The restore: the old store back, the current one kept aside.
  ASSERT_EQ(Run({DAIBAN_NODE_BIN, "restore", "--data", Village(), "--from", b1}, &out), 0) << out;
  const std::string aside = BeforeRestore(Village());
  ASSERT_NE(aside, "") << out;
  EXPECT_NE(out.find("aside to " + aside), std::string::npos) << out;
  EXPECT_NE(out.find("restored v210921100202 into " + Village()), std::string::npos) << out;
  EXPECT_NE(out.find("catches up from its parent"), std::string::npos) << out;
  EXPECT_EQ(CaseCount(fs::path(Village()) / "node.db"), backed_up);
  EXPECT_EQ(CaseCount(fs::path(aside) / "node.db"), static_cast<int64_t>(total));
  EXPECT_FALSE(fs::exists(fs::path(Village()) / "BACKUP.txt"));
  EXPECT_EQ(Mode(fs::path(Village()) / "data.key"), 0600u);

  // Started again, the node gets back from the hub what it lost.
  StartVillage();
  ApiClient again(village_port_);
  ASSERT_TRUE(again.Login("agent1", kPassword));
  SyncNow(again);
  EXPECT_EQ(again.Get("/api/cases")["cases"].size(), total);
  EXPECT_EQ(again.Get("/api/status").value("pending", -1), 0);
}

// Certificates that last a minute: every sync renews them, so a backup's is soon superseded.
class ShortCertBackupCity : public BackupCity {
 protected:
  std::string HubCertValidity() const override { return "60"; }
};

TEST_F(ShortCertBackupCity, ACertificateRenewedSinceTheBackupIsKept) {
  Process* village = StartVillage();
  ApiClient api(village_port_);
  ASSERT_TRUE(api.Login("agent1", kPassword));
  const std::string b1 = At("backup-1");
  std::string out;
  ASSERT_EQ(Run({DAIBAN_NODE_BIN, "backup", "--data", Village(), "--to", b1}, &out), 0) << out;
  const int64_t backed_up = Serial(fs::path(b1) / "tls" / "node.crt");
  SyncNow(api);
  village->Stop();
  // Read once stopped: background rounds renew too, up to the last one.
  const int64_t renewed = Serial(fs::path(Village()) / "tls" / "node.crt");
  ASSERT_GT(renewed, backed_up);

  ASSERT_EQ(Run({DAIBAN_NODE_BIN, "restore", "--data", Village(), "--from", b1}, &out), 0) << out;
  EXPECT_NE(out.find("kept the current tls/"), std::string::npos) << out;
  EXPECT_EQ(Serial(fs::path(Village()) / "tls" / "node.crt"), renewed);
  EXPECT_EQ(Mode(fs::path(Village()) / "tls" / "node.key"), 0600u);
  // The kept certificate is the one the hub knows: sync goes on.
  StartVillage();
  ApiClient again(village_port_);
  ASSERT_TRUE(again.Login("agent1", kPassword));
  Json r = SyncNow(again);
  EXPECT_TRUE(r.value("complete", false)) << r.dump();
}

TEST_F(ShortCertBackupCity, AHubRestoredFromBeforeARenewalNamesTheNodeItWillRefuse) {
  StartVillage();
  ApiClient village(village_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  const std::string b1 = At("hub-backup-1");
  std::string out;
  ASSERT_EQ(Run({DAIBAN_HUB_BIN, "backup", "--data", Hub(), "--to", b1}, &out), 0) << out;
  const int64_t before = Serial(fs::path(Village()) / "tls" / "node.crt");
  SyncNow(village);  // renews the village's certificate at the hub
  ASSERT_GT(Serial(fs::path(Village()) / "tls" / "node.crt"), before);
  procs_.front()->Stop();  // the hub
  ASSERT_EQ(Run({DAIBAN_HUB_BIN, "restore", "--data", Hub(), "--from", b1}, &out), 0) << out;
  EXPECT_NE(out.find("1 node(s) were enrolled or renewed their certificate after the backup; the hub refuses "
                     "them until they are enrolled again (daiban-hub enrol): v210921100202\n"),
            std::string::npos)
      << out;
  // As it said: the restored registry knows only the older certificate.
  StartHub();
  int status = 0;
  village.Post("/api/sync?wait=1", Json::object(), &status);
  EXPECT_NE(status, 200);
}

TEST_F(BackupCity, HubBackupWhileServing_RestoreRefusedWhileRunning_NodesSendAgainWhatItLost) {
  StartVillage();
  ApiClient village(village_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  ASSERT_TRUE(FileCase(village));
  SyncNow(village);

  const std::string b1 = At("hub-backup-1");
  std::string out;
  ASSERT_EQ(Run({DAIBAN_HUB_BIN, "backup", "--data", Hub(), "--to", b1}, &out), 0) << out;
  EXPECT_TRUE(IsBackupLine(out, "backup of hub 210900000000 in " + b1 + ": 3 databases, ")) << out;
  EXPECT_EQ(Mode(fs::path(b1) / "tls" / "ca.key"), 0600u);
  EXPECT_EQ(Mode(fs::path(b1) / "data.key"), 0600u);
  EXPECT_EQ(Run({DAIBAN_HUB_BIN, "backup", "--data", Hub(), "--to", b1}, &out), 1);
  EXPECT_NE(out.find("exists already"), std::string::npos) << out;
  // A node backup is not a hub backup.
  EXPECT_EQ(Run({DAIBAN_NODE_BIN, "restore", "--data", Village(), "--from", b1}, &out), 1);
  EXPECT_NE(out.find("not of a node"), std::string::npos) << out;

  ASSERT_TRUE(FileCase(village));
  SyncNow(village);  // the hub now holds 2 cases; its backup 1

  EXPECT_EQ(Run({DAIBAN_HUB_BIN, "restore", "--data", Hub(), "--from", b1}, &out), 1);
  EXPECT_NE(out.find("the hub is running"), std::string::npos) << out;
  EXPECT_EQ(BeforeRestore(Hub()), "");

  procs_.front()->Stop();  // the hub
  // Retired after the backup: the restored registry would accept the node again; say so.
  ASSERT_EQ(Run({DAIBAN_HUB_BIN, "retire", "--data", Hub(), "--node-id", kVillageId}, &out), 0) << out;
  ASSERT_EQ(Run({DAIBAN_HUB_BIN, "restore", "--data", Hub(), "--from", b1}, &out), 0) << out;
  const std::string aside = BeforeRestore(Hub());
  ASSERT_NE(aside, "") << out;
  EXPECT_NE(out.find("restored the hub 210900000000 into " + Hub()), std::string::npos) << out;
  EXPECT_NE(out.find("retired after the backup and are accepted again; retire them again now (daiban-hub "
                     "retire): v210921100202\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("nodes send it again"), std::string::npos) << out;
  EXPECT_EQ(CaseCount(fs::path(Hub()) / "hub.db"), 1);

  // The village sends the restored hub what it lost.
  StartHub();
  Json r = SyncNow(village);
  EXPECT_TRUE(r.value("complete", false)) << r.dump();
  procs_.back()->Stop();  // the hub, to read its store whole
  EXPECT_EQ(CaseCount(fs::path(Hub()) / "hub.db"), 2);
}

}  // namespace
}  // namespace daiban::testing
