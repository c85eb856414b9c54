// A small RAII wrapper over SQLite: one connection, cached prepared statements,
// transactions that roll back unless committed. Errors are Status values:
//   SQLITE_BUSY/LOCKED        -> kUnavailable   (retry later)
//   SQLITE_FULL, SQLITE_IOERR -> kUnavailable   (disk full / I/O error; nothing was committed)
//   SQLITE_CORRUPT/NOTADB     -> kDataLoss      (an operator must restore)
//   SQLITE_CONSTRAINT         -> kAlreadyExists
//   anything else             -> kInternal
// Not thread-safe: one Db per thread (or guard it with a mutex).
//
// Also here: backups. Db::BackupTo copies one live database; BackupDataDir, CheckBackup and
// RestoreDataDir do the same for a whole data directory (a node's or the hub's), whose
// stores are SQLite files.
#ifndef DAIBAN_COMMON_SQLITE_H_
#define DAIBAN_COMMON_SQLITE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace daiban::common {

class Db;

// A prepared statement. Owned by the Db's cache; valid while the Db lives.
class Stmt {
 public:
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Bind by 1-based index. Strings and blobs are copied (SQLITE_TRANSIENT).
  Stmt& Bind(int index, int64_t v);
  Stmt& Bind(int index, std::string_view text);
  Stmt& BindBlob(int index, std::string_view bytes);
  Stmt& BindNull(int index);

  // Runs one step. true: a row is ready; false: done. Error on failure.
  Result<bool> Step();
  // Runs to completion, ignoring rows, then resets (bindings kept): the same statement may
  // be bound and run again at once.
  Status Run();

  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const;

  // Resets for re-use and clears bindings. Called by Db::Prepare before handing it out.
  void Reset();

 private:
  friend class Db;
  Stmt(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Db* db_;
  sqlite3_stmt* stmt_;
};

struct DbOptions {
  bool wal = true;               // journal_mode=WAL (default: on)
  bool synchronous_full = true;  // synchronous=FULL: a commit is on disk when Commit() returns (default: on)
  int busy_timeout_ms = 5000;    // wait this long for a lock before kUnavailable (default: 5000)
  bool read_only = false;        // open read-only (default: off)
  bool immutable = false;        // read-only, and the file is taken not to change: no locks, no -wal or
                                 // -shm files made beside it; for a backup's copy or a stopped store
                                 // (a WAL not yet checkpointed into the file is not seen) (default: off)
};

struct BackupOptions {
  int pages_per_step = 256;  // pages copied per step of the online backup (default 256)
  int busy_wait_ms = 10000;  // give up after waiting this long in all for locks (default 10000)
};

class Db {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" for an in-memory one.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, const DbOptions& options = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements without results.
  Status Exec(std::string_view sql);
  // A cached, reset statement for `sql`. The pointer is valid until the Db is closed.
  Result<Stmt*> Prepare(std::string_view sql);

  // The whole database as bytes (sqlite3_serialize): an in-memory backup for tests
  // and the simulator. kInternal if SQLite cannot produce it.
  Result<std::string> Serialize();
  // Opens an in-memory database holding a copy of `image` (from Serialize).
  static Result<std::unique_ptr<Db>> OpenImage(const std::string& image, const DbOptions& options = {});

  // Copies the database, as it stands when the call starts, into a new file at `path` with
  // SQLite's online backup. Other connections and processes go on reading and writing
  // meanwhile: in WAL mode the copy is one consistent snapshot and writers are not blocked.
  // The copy is written to `path`.tmp, checked (PRAGMA quick_check), fsynced and renamed
  // to `path`, so `path` exists only once it is whole. Errors name the path:
  //   kAlreadyExists  `path` or `path`.tmp exists (nothing was touched)
  //   kUnavailable    the directory cannot be written, the disk is full, or a lock was held
  //                   longer than options.busy_wait_ms (nothing is left behind)
  //   kDataLoss       this database, or the copy, is damaged
  // REQUIRES: no write transaction is open on this connection.
  Status BackupTo(const std::string& path, const BackupOptions& options = {});

  int64_t LastInsertRowId() const;
  int Changes() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }

  // Turns a SQLite result code into a Status (see the table at the top of this file).
  Status Error(int rc, std::string_view what) const;

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back in the destructor unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin();
  Status Commit();
  void Rollback();

 private:
  Db* db_;
  bool open_ = false;
};

// ---- Backups of a data directory ----
//
// A data directory (a node's or the hub's) holds SQLite stores (*.db, at any depth) and
// plain files: configuration, keys, certificates, master data. A backup of it is a new
// directory (mode 700) with the same tree: each *.db copied with Db::BackupTo, so the
// server may keep running; every other file copied as it is, with its permission bits; and
// BACKUP.txt, saying what the backup is of and listing every file with its size and
// SHA-256. Left out: SQLite's -wal, -shm and -journal files, *.log, *.tmp, and what only a
// running server uses (cli.token, serve.lock). Each database is a snapshot of its own
// moment; the stores of one directory are not copied at one instant together. BACKUP.txt
// finds damage, not tampering: whoever can change a file can change its line too.
//
// BACKUP.txt, a few `key: value` lines and then one line per file (path last: it may hold
// spaces):
//   daiban backup
//   kind: node
//   of: v210921100202
//   software: daiban-node 0.1.0
//   made: 2025-06-01 02:00:03 +0800
//   from: /var/lib/daiban
//   file 1273856 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 node.db

inline constexpr std::string_view kBackupManifestName = "BACKUP.txt";

// What a backup is of, written at the top of BACKUP.txt.
struct BackupLabel {
  std::string kind;      // "node" or "hub": a restore refuses a backup of the other kind
  std::string of;        // which one: the node id, e.g. "v210921100202", or "hub 210900000000"
  std::string software;  // e.g. "daiban-node 0.1.0"
};

struct BackupManifest {
  struct File {
    std::string path;    // relative to the backup directory, '/'-separated
    int64_t size = 0;    // bytes
    std::string sha256;  // lower-case hex
    bool database = false;
  };
  BackupLabel label;
  std::string made;         // local time the backup started, "2025-06-01 02:00:03 +0800"
  std::string from;         // the data directory it was made from
  std::vector<File> files;  // sorted by path; BACKUP.txt itself is not listed

  int databases() const;
  int64_t bytes() const;
  // "3 databases, 7 files, 1.2 MB" (files counts the databases too).
  std::string Summary() const;
};

// Copies `data_dir` into `backup_dir`, which must not exist (kAlreadyExists); its parent
// must. The copy is built in `backup_dir`.partial and renamed to `backup_dir` when whole
// and fsynced, so `backup_dir` never holds half a backup; on failure the .partial
// directory is removed. Safe while a server is using `data_dir`; a plain file it removes
// meanwhile is left out. Errors name the file. Thread-compatible; blocking (it copies).
Result<BackupManifest> BackupDataDir(const std::string& data_dir, const std::string& backup_dir,
                                     const BackupLabel& label);

// Reads `backup_dir`/BACKUP.txt and checks every file it lists against its size and
// SHA-256. kDataLoss naming the first file that is missing, differs, or is not listed (a
// damaged or altered backup); kNotFound if there is no BACKUP.txt; kInvalidArgument if
// BACKUP.txt cannot be read as one. Reads only.
Result<BackupManifest> CheckBackup(const std::string& backup_dir);

// What RestoreDataDir did.
struct RestoreReport {
  std::string moved_aside;        // where the previous data directory went ("" if there was none)
  std::vector<std::string> kept;  // entries of the previous directory kept instead of the backup's
};

// Puts the backup in place of `data_dir`: copies the files `manifest` lists (from
// CheckBackup on `backup_dir`; each copy is checked again against its SHA-256) into a new
// directory beside it, `data_dir`.restoring-STAMP, fsyncs it, moves the current
// `data_dir`, if any, aside to `data_dir`.before-restore-STAMP (never deleted; an empty one
// is removed), and renames the new directory to `data_dir`. A failure before that last
// step leaves `data_dir` as it was. `keep` names top-level entries of the current
// `data_dir` (e.g. "tls") copied from it instead of from the backup. STAMP is the local
// time, YYYYmmdd-HHMMSS. Run as root, the new tree gets the owner of the one it replaces.
// REQUIRES: nothing else uses `data_dir` (hold its DataDirLock). Errors name the path.
Result<RestoreReport> RestoreDataDir(const std::string& backup_dir, const BackupManifest& manifest,
                                     const std::string& data_dir, const std::vector<std::string>& keep);

// The lock a server holds on its data directory while it runs (flock on DIR/serve.lock,
// which records its pid), so that a restore cannot run under it nor two servers share one
// directory. Released when the object is destroyed or the process ends, however it ends.
class DataDirLock {
 public:
  // kFailedPrecondition "DIR is in use by process PID" if another process holds it;
  // kUnavailable if the lock file cannot be opened.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_SQLITE_H_
