// A small RAII wrapper over SQLite: one connection, cached prepared statements,
// transactions that roll back unless committed. Errors are Status values:
//   SQLITE_BUSY/LOCKED        -> kUnavailable   (retry later)
//   SQLITE_FULL, SQLITE_IOERR -> kUnavailable   (disk full / I/O error; nothing was committed)
//   SQLITE_CORRUPT/NOTADB     -> kDataLoss      (an operator must restore)
//   SQLITE_CONSTRAINT         -> kAlreadyExists
//   anything else             -> kInternal
// Not thread-safe: one Db per thread (or guard it with a mutex).
#ifndef DAIBAN_COMMON_SQLITE_H_
#define DAIBAN_COMMON_SQLITE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

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

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_SQLITE_H_
