// Backups: Db::BackupTo copies a live database (another process writing to it meanwhile);
// BackupDataDir / CheckBackup / RestoreDataDir do a whole data directory; DataDirLock keeps
// a restore from running under a server.
#include "common/sqlite.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace daiban::common {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned Mode(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

constexpr int kAccounts = 2000;
constexpr int64_t kTotal = 1000 * kAccounts;

class SqliteBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("daiban_sqlite_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A database of kAccounts accounts holding kTotal in all, with padding so it spans many
  // pages, and a count of the transfers made.
  std::unique_ptr<Db> MakeBank(const std::string& path) {
    auto db = Db::Open(path);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_TRUE((*db)
                    ->Exec("CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, pad BLOB);"
                           "CREATE TABLE transfers(n INTEGER NOT NULL); INSERT INTO transfers VALUES (0);")
                    .ok());
    Transaction t(db->get());
    EXPECT_TRUE(t.Begin().ok());
    for (int i = 0; i < kAccounts; ++i) {
      auto q = (*db)->Prepare("INSERT INTO account(id, balance, pad) VALUES (?, 1000, randomblob(900))");
      EXPECT_TRUE(q.ok());
      EXPECT_TRUE((*q)->Bind(1, int64_t{i}).Run().ok());
    }
    EXPECT_TRUE(t.Commit().ok());
    return std::move(*db);
  }

  static int64_t One(Db* db, const std::string& sql) {
    auto q = db->Prepare(sql);
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    auto row = (*q)->Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return (*q)->ColumnInt(0);
  }
  static std::string IntegrityCheck(Db* db) {
    auto q = db->Prepare("PRAGMA integrity_check");
    EXPECT_TRUE(q.ok());
    auto row = (*q)->Step();
    return row.ok() && *row ? (*q)->ColumnText(0) : "no answer";
  }

  fs::path dir_;
};

TEST_F(SqliteBackupTest, CopyIsWholeAndPassesIntegrityCheck) {
  auto db = MakeBank(Path("bank.db"));
  ASSERT_TRUE(db->Exec("UPDATE account SET balance = balance - 5 WHERE id = 1;"
                       "UPDATE account SET balance = balance + 5 WHERE id = 2")
                  .ok());
  ASSERT_TRUE(db->BackupTo(Path("copy.db")).ok());
  EXPECT_FALSE(fs::exists(Path("copy.db.tmp")));
  auto copy = Db::Open(Path("copy.db"));
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(IntegrityCheck(copy->get()), "ok");
  EXPECT_EQ(One(copy->get(), "SELECT count(*) FROM account"), kAccounts);
  EXPECT_EQ(One(copy->get(), "SELECT balance FROM account WHERE id = 2"), 1005);
  EXPECT_EQ(One(copy->get(), "SELECT sum(balance) FROM account"), kTotal);
}

TEST_F(SqliteBackupTest, AnotherProcessWritingMeanwhile_CopyIsOneConsistentSnapshot) {
  const std::string path = Path("bank.db");
  MakeBank(path).reset();
  pid_t writer = fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    // The child: its own connection, moving money between accounts until it is stopped.
    auto db = Db::Open(path);
    if (!db.ok()) _exit(1);
    for (int64_t i = 0;; ++i) {
      Transaction t(db->get());
      if (!t.Begin().ok()) continue;
      int64_t from = (i * 7919) % kAccounts, to = (i * 104729 + 1) % kAccounts;
      auto q = (*db)->Prepare("UPDATE account SET balance = balance + ? WHERE id = ?");
      if (!q.ok() || !(*q)->Bind(1, int64_t{-3}).Bind(2, from).Run().ok() ||
          !(*q)->Bind(1, int64_t{3}).Bind(2, to).Run().ok() ||
          !(*db)->Exec("UPDATE transfers SET n = n + 1").ok()) {
        continue;
      }
      (void)t.Commit();
    }
  }
  auto db = Db::Open(path);
  ASSERT_TRUE(db.ok());
  for (int i = 0; i < 200 && One(db->get(), "SELECT n FROM transfers") < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BackupOptions small_steps;
  small_steps.pages_per_step = 8;  // many steps, so that the writer commits between them
  Status s = (*db)->BackupTo(Path("copy.db"), small_steps);
  int64_t after = One(db->get(), "SELECT n FROM transfers");
  kill(writer, SIGKILL);
  waitpid(writer, nullptr, 0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto copy = Db::Open(Path("copy.db"));
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(IntegrityCheck(copy->get()), "ok");
  EXPECT_EQ(One(copy->get(), "SELECT sum(balance) FROM account"), kTotal) << "the copy holds half a transfer";
  int64_t copied = One(copy->get(), "SELECT n FROM transfers");
  EXPECT_GE(copied, 50);
  EXPECT_GT(after, copied) << "the writer made no transfer after the snapshot: the test proves nothing";
}

TEST_F(SqliteBackupTest, ImmutableOpenReadsACopyWithoutMakingFilesBesideIt) {
  auto db = MakeBank(Path("bank.db"));
  ASSERT_TRUE(db->BackupTo(Path("copy.db")).ok());
  DbOptions immutable;
  immutable.immutable = true;
  auto copy = Db::Open(Path("copy.db"), immutable);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(One(copy->get(), "SELECT count(*) FROM account"), kAccounts);
  EXPECT_FALSE((*copy)->Exec("DELETE FROM account").ok());
  EXPECT_FALSE(fs::exists(Path("copy.db-wal")));
  EXPECT_FALSE(fs::exists(Path("copy.db-shm")));
}

TEST_F(SqliteBackupTest, RefusesAnExistingTargetAndLeavesItAlone) {
  auto db = MakeBank(Path("bank.db"));
  std::ofstream(Path("copy.db")) << "precious";
  Status s = db->BackupTo(Path("copy.db"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_NE(s.message().find(Path("copy.db")), std::string::npos) << s.message();
  EXPECT_EQ(ReadAll(Path("copy.db")), "precious");
  EXPECT_FALSE(fs::exists(Path("copy.db.tmp")));
}

TEST_F(SqliteBackupTest, ALeftoverTmpIsRefusedNotOverwritten) {
  auto db = MakeBank(Path("bank.db"));
  std::ofstream(Path("copy.db.tmp")) << "someone else's";
  Status s = db->BackupTo(Path("copy.db"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_NE(s.message().find("copy.db.tmp"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(Path("copy.db")));
  EXPECT_EQ(fs::file_size(Path("copy.db.tmp")), 14u);
}

TEST_F(SqliteBackupTest, MissingDirectoryIsAnErrorNamingThePath) {
  auto db = MakeBank(Path("bank.db"));
  const std::string missing = Path("no/such/dir/copy.db");
  Status s = db->BackupTo(missing);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
}

TEST_F(SqliteBackupTest, ReadOnlyDirectoryIsAnErrorNamingThePath) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into a read-only directory; this needs another user";
  auto db = MakeBank(Path("bank.db"));
  fs::create_directories(Path("ro"));
  fs::permissions(Path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  Status s = db->BackupTo(Path("ro/copy.db"));
  fs::permissions(Path("ro"), fs::perms::owner_all);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find(Path("ro/copy.db")), std::string::npos) << s.message();
  EXPECT_TRUE(fs::is_empty(Path("ro")));
}

// ---- data directories ----

class DataDirBackupTest : public SqliteBackupTest {
 protected:
  void SetUp() override {
    SqliteBackupTest::SetUp();
    data_ = dir_ / "data";
    fs::create_directories(data_ / "tls");
    fs::create_directories(data_ / "master" / "catalog");
    std::ofstream((data_ / "node.conf").string()) << "node_id = v1\n";
    std::ofstream((data_ / "tls" / "node.crt").string()) << "CERT 1";
    std::ofstream((data_ / "data.key").string()) << "KEY";
    fs::permissions(data_ / "data.key", fs::perms::owner_read | fs::perms::owner_write);
    std::ofstream((data_ / "master" / "catalog" / "items.csv").string()) << "code,name\n";
    std::ofstream((data_ / "cli.token").string()) << "token";
    std::ofstream((data_ / "node.log").string()) << "log";
    // A live store: this connection keeps it open (its -wal and -shm exist) while backed up.
    live_ = MakeBank((data_ / "node.db").string());
    ASSERT_TRUE(live_->Exec("UPDATE transfers SET n = 7").ok());
    users_ = MakeBank((data_ / "users.db").string());
  }
  BackupLabel Label() const { return {"node", "v1", "daiban-node 0.1.0"}; }

  fs::path data_;
  std::unique_ptr<Db> live_, users_;
};

TEST_F(DataDirBackupTest, BackupCopiesEveryFileAndListsItsHash) {
  ASSERT_TRUE(fs::exists(data_ / "node.db-wal"));
  auto m = BackupDataDir(data_.string(), Path("b1"), Label());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(fs::exists(Path("b1.partial")));
  EXPECT_EQ(Mode(Path("b1")), 0700u);
  EXPECT_EQ(m->databases(), 2);
  std::vector<std::string> paths;
  for (const auto& f : m->files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"data.key", "master/catalog/items.csv", "node.conf", "node.db",
                                             "tls/node.crt", "users.db"}));
  EXPECT_NE(m->Summary().find("2 databases, 6 files, "), std::string::npos) << m->Summary();
  EXPECT_EQ(Mode(Path("b1/data.key")), 0600u);
  EXPECT_EQ(ReadAll(Path("b1/tls/node.crt")), "CERT 1");
  std::string list = ReadAll(Path("b1/BACKUP.txt"));
  EXPECT_EQ(list.rfind("daiban backup\nkind: node\nof: v1\nsoftware: daiban-node 0.1.0\n", 0), 0u) << list;
  EXPECT_NE(list.find(" master/catalog/items.csv\n"), std::string::npos) << list;
  auto copy = Db::Open(Path("b1/node.db"));
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(One(copy->get(), "SELECT n FROM transfers"), 7);
  EXPECT_EQ(IntegrityCheck(copy->get()), "ok");
  copy->reset();
  // Checks out; a second backup into the same place is refused.
  EXPECT_TRUE(CheckBackup(Path("b1")).ok());
  auto again = BackupDataDir(data_.string(), Path("b1"), Label());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find(Path("b1")), std::string::npos);
  // Not into the data directory itself.
  EXPECT_EQ(BackupDataDir(data_.string(), (data_ / "b").string(), Label()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(DataDirBackupTest, CheckNamesTheDamagedMissingOrUnlistedFile) {
  ASSERT_TRUE(BackupDataDir(data_.string(), Path("b"), Label()).ok());
  {
    std::fstream f(Path("b/users.db"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x7f');
  }
  Status s = CheckBackup(Path("b")).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("users.db differs"), std::string::npos) << s.message();

  ASSERT_TRUE(BackupDataDir(data_.string(), Path("c"), Label()).ok());
  fs::remove(Path("c/tls/node.crt"));
  s = CheckBackup(Path("c")).status();
  EXPECT_NE(s.message().find("tls/node.crt is missing"), std::string::npos) << s.message();

  ASSERT_TRUE(BackupDataDir(data_.string(), Path("d"), Label()).ok());
  std::ofstream(Path("d/tls/extra.pem")) << "x";
  s = CheckBackup(Path("d")).status();
  EXPECT_NE(s.message().find("tls/extra.pem is not in BACKUP.txt"), std::string::npos) << s.message();

  fs::create_directories(Path("e"));
  EXPECT_EQ(CheckBackup(Path("e")).status().code(), StatusCode::kNotFound);
}

TEST_F(DataDirBackupTest, RestoreMovesTheCurrentDirectoryAsideAndKeepsWhatItIsTold) {
  ASSERT_TRUE(BackupDataDir(data_.string(), Path("b"), Label()).ok());
  // Work after the backup, and a renewed certificate.
  ASSERT_TRUE(live_->Exec("UPDATE transfers SET n = 8").ok());
  std::ofstream((data_ / "tls" / "node.crt").string()) << "CERT 2";
  live_.reset();
  users_.reset();
  auto m = CheckBackup(Path("b"));
  ASSERT_TRUE(m.ok());
  auto r = RestoreDataDir(Path("b"), *m, data_.string(), {"tls"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kept, std::vector<std::string>{"tls"});
  ASSERT_FALSE(r->moved_aside.empty());
  EXPECT_EQ(r->moved_aside.rfind(data_.string() + ".before-restore-", 0), 0u) << r->moved_aside;
  // The previous directory is whole where it went.
  auto before = Db::Open(r->moved_aside + "/node.db");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(One(before->get(), "SELECT n FROM transfers"), 8);
  // The restored one holds the backup, the kept certificate, and not BACKUP.txt.
  auto restored = Db::Open((data_ / "node.db").string());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(One(restored->get(), "SELECT n FROM transfers"), 7);
  EXPECT_EQ(ReadAll(data_ / "tls" / "node.crt"), "CERT 2");
  EXPECT_EQ(Mode(data_ / "data.key"), 0600u);
  EXPECT_FALSE(fs::exists(data_ / "BACKUP.txt"));
  EXPECT_FALSE(fs::exists(data_ / "cli.token"));
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().string().find(".restoring-"), std::string::npos) << e.path();
  }
  // Into a directory that does not exist (a new disk): nothing to move aside.
  auto fresh = RestoreDataDir(Path("b"), *m, Path("new"), {"tls"});
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(fresh->moved_aside.empty());
  EXPECT_TRUE(fresh->kept.empty());
  EXPECT_EQ(ReadAll(Path("new/tls/node.crt")), "CERT 1");
}

TEST(DataDirLockTest, ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  fs::path dir = fs::temp_directory_path() / ("daiban_lock_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto first = DataDirLock::Acquire(dir.string());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = DataDirLock::Acquire(dir.string());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by process " + std::to_string(getpid())),
            std::string::npos)
      << second.status().message();
  first->reset();
  EXPECT_TRUE(DataDirLock::Acquire(dir.string()).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace daiban::common
