#include "common/sqlite.h"

#include <sqlite3.h>

#include <cstring>

namespace daiban::common {

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::Bind(int index, int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}
Stmt& Stmt::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status s = db_->Error(rc, "step");
  sqlite3_reset(stmt_);
  return s;
}

Status Stmt::Run() {
  // Reset afterwards (bindings kept) so the statement can be bound and run again: binding
  // a statement that has run to completion without a reset fails silently (SQLITE_MISUSE)
  // and the next run would repeat the old values.
  for (;;) {
    auto row = Step();
    if (!row.ok() || !*row) {
      sqlite3_reset(stmt_);
      return row.ok() ? Status::Ok() : row.status();
    }
  }
}

int64_t Stmt::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
std::string Stmt::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
std::string Stmt::ColumnBlob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
bool Stmt::ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, const DbOptions& options) {
  sqlite3* raw = nullptr;
  int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    return Unavailable("cannot open database " + path + ": " + msg);
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  if (!options.read_only && path != ":memory:" && options.wal) {
    DAIBAN_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  }
  DAIBAN_RETURN_IF_ERROR(db->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                                           : "PRAGMA synchronous=NORMAL"));
  DAIBAN_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  return db;
}

Db::~Db() {
  cache_.clear();
  sqlite3_close(db_);
}

Status Db::Error(int rc, std::string_view what) const {
  std::string msg = std::string(what) + ": " + sqlite3_errmsg(db_) + " (" + path_ + ")";
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Unavailable("database busy: " + msg);
    case SQLITE_FULL: return Unavailable("disk full, nothing was saved: " + msg);
    case SQLITE_IOERR: return Unavailable("disk I/O error, nothing was saved: " + msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return DataLoss("database damaged: " + msg);
    case SQLITE_CONSTRAINT: return AlreadyExists(msg);
    case SQLITE_READONLY: return FailedPrecondition("database is read-only: " + msg);
    case SQLITE_CANTOPEN: return Unavailable("cannot open database file: " + msg);
    default: return Internal(msg);
  }
}

Status Db::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return Error(rc, "exec");
  return Status::Ok();
}

Result<Stmt*> Db::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                              &raw, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "prepare");
  auto stmt = std::unique_ptr<Stmt>(new Stmt(this, raw));
  Stmt* p = stmt.get();
  cache_.emplace(std::move(key), std::move(stmt));
  return p;
}

Result<std::string> Db::Serialize() {
  sqlite3_int64 size = 0;
  unsigned char* data = sqlite3_serialize(db_, "main", &size, 0);
  if (!data) return Internal("sqlite3_serialize failed for " + path_);
  std::string out(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
  sqlite3_free(data);
  return out;
}

Result<std::unique_ptr<Db>> Db::OpenImage(const std::string& image, const DbOptions& options) {
  DbOptions o = options;
  o.wal = false;
  DAIBAN_ASSIGN_OR_RETURN(auto db, Open(":memory:", o));
  auto size = static_cast<sqlite3_int64>(image.size());
  auto* buf = static_cast<unsigned char*>(sqlite3_malloc64(static_cast<sqlite3_uint64>(image.size())));
  if (!buf) return Internal("out of memory for a database image");
  std::memcpy(buf, image.data(), image.size());
  int rc = sqlite3_deserialize(db->db_, "main", buf, size, size,
                               SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
  if (rc != SQLITE_OK) return db->Error(rc, "deserialize");
  return db;
}

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Db::Changes() const { return sqlite3_changes(db_); }

Transaction::~Transaction() { Rollback(); }

Status Transaction::Begin() {
  DAIBAN_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  if (!open_) return Internal("commit without an open transaction");
  Status s = db_->Exec("COMMIT");
  if (s.ok()) open_ = false;
  return s;  // on failure the destructor rolls back
}

void Transaction::Rollback() {
  if (open_) {
    (void)db_->Exec("ROLLBACK");
    open_ = false;
  }
}

}  // namespace daiban::common
