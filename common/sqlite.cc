#include "common/sqlite.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace daiban::common {
namespace {

namespace fs = std::filesystem;

// The Status for a SQLite result code (see the table in sqlite.h); `msg` says what failed.
Status StatusFor(int rc, const std::string& msg) {
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("database busy: " + msg);
    case SQLITE_FULL:
      return Unavailable("disk full, nothing was saved: " + msg);
    case SQLITE_IOERR:
      return Unavailable("disk I/O error, nothing was saved: " + msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss("database damaged: " + msg);
    case SQLITE_CONSTRAINT:
      return AlreadyExists(msg);
    case SQLITE_READONLY:
      return FailedPrecondition("database is read-only: " + msg);
    case SQLITE_CANTOPEN:
      return Unavailable("cannot open database file: " + msg);
    default:
      return Internal(msg);
  }
}

std::string ErrnoText(int e) { return std::strerror(e); }

std::string ParentOf(const std::string& path) {
  std::string parent = fs::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// fsync of a file or a directory, by path.
Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("cannot open " + path + " to flush it to disk: " + ErrnoText(errno));
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return Unavailable("cannot flush " + path + " to disk: " + ErrnoText(e));
  return Status::Ok();
}

// Renames `from` to `to`; kAlreadyExists if `to` exists (it is never replaced).
Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return Status::Ok();
  int e = errno;
  if (e == EEXIST) {
    return AlreadyExists("cannot rename " + from + " to " + to + ": " + to + " exists already");
  }
  if (e == EINVAL || e == ENOSYS) {  // a file system without RENAME_NOREPLACE
    std::error_code ec;
    if (fs::exists(to, ec)) {
      return AlreadyExists("cannot rename " + from + " to " + to + ": " + to + " exists already");
    }
    if (std::rename(from.c_str(), to.c_str()) == 0) return Status::Ok();
    e = errno;
  }
  return Unavailable("cannot rename " + from + " to " + to + ": " + ErrnoText(e));
}

// Local time of `ms` since the epoch in strftime's `format`.
std::string LocalTime(int64_t ms, const char* format) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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
  const bool read_only = options.read_only || options.immutable;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  std::string name = path;
  if (options.immutable) {
    name = "file:";
    for (char c : path) {
      if (c == '%' || c == '?' || c == '#') {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
        name += hex;
      } else {
        name += c;
      }
    }
    name += "?immutable=1";
    flags |= SQLITE_OPEN_URI;
  }
  int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    return Unavailable("cannot open database " + path + ": " + msg);
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  if (!read_only && path != ":memory:" && options.wal) {
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
  return StatusFor(rc, std::string(what) + ": " + sqlite3_errmsg(db_) + " (" + path_ + ")");
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

Status Db::BackupTo(const std::string& path, const BackupOptions& options) {
  const std::string what = "backup of " + path_ + " to " + path;
  std::error_code ec;
  if (fs::exists(path, ec)) return AlreadyExists(what + ": " + path + " exists already");
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == EEXIST) {
      return AlreadyExists(what + ": " + tmp +
                           " exists: another backup to the same place is running, or one was "
                           "cut off (then remove it)");
    }
    return Unavailable(what + ": cannot create " + tmp + ": " + ErrnoText(e));
  }
  ::close(fd);
  sqlite3* dest = nullptr;
  int rc = sqlite3_open_v2(tmp.c_str(), &dest, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> dest_owner(dest, sqlite3_close);
  // From here on `tmp` is ours: on any failure it is closed and removed.
  auto discard = [&tmp, &dest_owner](Status s) {
    dest_owner.reset();
    std::error_code ignored;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(tmp + suffix, ignored);
    return s;
  };
  if (rc != SQLITE_OK) {
    return discard(StatusFor(rc, what + ": " + (dest ? sqlite3_errmsg(dest) : "out of memory")));
  }

  // A read transaction on this connection for the whole copy pins one snapshot: the backup
  // never restarts however much other processes write, and in WAL mode they are not held up.
  const bool own_read = sqlite3_get_autocommit(db_) != 0;
  if (own_read) {
    if (Status s = Exec("BEGIN; SELECT count(*) FROM sqlite_schema;"); !s.ok()) {
      (void)Exec("ROLLBACK");
      return discard(s.WithContext(what));
    }
  }
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", db_, "main");
  if (!backup) {
    Status s = StatusFor(sqlite3_errcode(dest), what + ": " + sqlite3_errmsg(dest));
    if (own_read) (void)Exec("ROLLBACK");
    return discard(s);
  }
  constexpr int kSleepMs = 20;
  int waited_ms = 0;
  for (;;) {
    rc = sqlite3_backup_step(backup, options.pages_per_step);
    if (rc == SQLITE_OK) continue;
    if (rc == SQLITE_DONE) break;
    const int primary = rc & 0xFF;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && waited_ms < options.busy_wait_ms) {
      sqlite3_sleep(kSleepMs);
      waited_ms += kSleepMs;
      continue;
    }
    break;
  }
  int finish = sqlite3_backup_finish(backup);
  if (own_read) (void)Exec("ROLLBACK");
  if (rc != SQLITE_DONE) {
    const int primary = rc & 0xFF;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return discard(Unavailable(what + ": the database stayed locked for " + std::to_string(waited_ms) +
                                 " ms; try again later"));
    }
    return discard(StatusFor(rc, what + ": " + sqlite3_errstr(rc)));
  }
  if (finish != SQLITE_OK) return discard(StatusFor(finish, what + ": " + sqlite3_errmsg(dest)));

  // The copy must read back whole before it gets its name.
  sqlite3_stmt* check = nullptr;
  std::string verdict;
  rc = sqlite3_prepare_v2(dest, "PRAGMA quick_check", -1, &check, nullptr);
  if (rc == SQLITE_OK && sqlite3_step(check) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(check, 0);
    verdict = text ? reinterpret_cast<const char*>(text) : "";
  } else {
    verdict = sqlite3_errmsg(dest);
  }
  sqlite3_finalize(check);
  if (verdict != "ok") return discard(DataLoss(what + ": the copy fails its check: " + verdict));
  dest_owner.reset();
  if (Status s = SyncPath(tmp); !s.ok()) return discard(s.WithContext(what));
  if (Status s = RenameNoReplace(tmp, path); !s.ok()) return discard(s.WithContext(what));
  return SyncPath(ParentOf(path)).WithContext(what);
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

// ---- Backups of a data directory ----

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsDatabaseName(std::string_view name) { return EndsWith(name, ".db"); }

// Files of a data directory that a backup leaves out (see sqlite.h).
bool LeftOut(std::string_view name) {
  for (std::string_view suffix : {"-wal", "-shm", "-journal", ".log", ".tmp"}) {
    if (EndsWith(name, suffix)) return true;
  }
  return name == "cli.token" || name == "serve.lock";
}

std::string Hex(const unsigned char* bytes, unsigned int n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xF];
  }
  return out;
}

// The SHA-256 (lower-case hex) and size of a file, read in pieces.
Status HashFile(const std::string& path, std::string* sha256, int64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("cannot read " + path + ": " + ErrnoText(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    ::close(fd);
    return Internal("SHA-256 is not available from OpenSSL");
  }
  std::vector<char> buf(1 << 16);
  *size = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Unavailable("cannot read " + path + ": " + ErrnoText(e));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    *size += n;
  }
  ::close(fd);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  *sha256 = Hex(md, len);
  return Status::Ok();
}

// Copies the regular file `from` to the new file `to` (which must not exist) with
// permission bits `mode`, and flushes it to disk. kNotFound if `from` does not exist.
Status CopyFile(const std::string& from, const std::string& to, mode_t mode) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    int e = errno;
    return e == ENOENT ? NotFound("cannot read " + from + ": it is gone")
                       : Unavailable("cannot read " + from + ": " + ErrnoText(e));
  }
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    int e = errno;
    ::close(in);
    return e == EEXIST ? AlreadyExists("cannot write " + to + ": it exists already")
                       : Unavailable("cannot write " + to + ": " + ErrnoText(e));
  }
  std::vector<char> buf(1 << 16);
  Status s;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = Unavailable("cannot read " + from + ": " + ErrnoText(errno));
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        s = Unavailable("cannot write " + to + ": " + ErrnoText(errno));
        break;
      }
      done += w;
    }
    if (!s.ok()) break;
  }
  if (s.ok() && ::fchmod(out, mode) != 0) {
    s = Unavailable("cannot set the mode of " + to + ": " + ErrnoText(errno));
  }
  if (s.ok() && ::fsync(out) != 0) s = Unavailable("cannot flush " + to + " to disk: " + ErrnoText(errno));
  ::close(in);
  if (::close(out) != 0 && s.ok()) s = Unavailable("cannot write " + to + ": " + ErrnoText(errno));
  return s;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0700;
}

// One entry of a tree, relative to its root ('/'-separated).
struct TreeEntry {
  std::string rel;
  bool directory = false;
};

// Every directory and regular file (symbolic links followed) under `root`, sorted so that
// a directory comes before what it holds; other kinds of files are skipped.
Result<std::vector<TreeEntry>> ListTree(const std::string& root) {
  std::vector<TreeEntry> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code kind_ec;
    bool dir = it->is_directory(kind_ec);
    if (!dir && !it->is_regular_file(kind_ec)) continue;
    out.push_back({fs::relative(it->path(), root, kind_ec).generic_string(), dir});
  }
  if (ec) return Unavailable("cannot list " + root + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const TreeEntry& a, const TreeEntry& b) { return a.rel < b.rel; });
  return out;
}

// Makes the directory `path` (its parent exists); kAlreadyExists if it is there.
Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return Status::Ok();
  int e = errno;
  if (e == EEXIST) return AlreadyExists(path + " exists already");
  return Unavailable("cannot create " + path + ": " + ErrnoText(e));
}

// Flushes every directory of a tree to disk (files were flushed as they were written).
Status SyncDirs(const std::string& root) {
  DAIBAN_RETURN_IF_ERROR(SyncPath(root));
  DAIBAN_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(root));
  for (const auto& e : entries) {
    if (e.directory) DAIBAN_RETURN_IF_ERROR(SyncPath(root + "/" + e.rel));
  }
  return Status::Ok();
}

// `dir` without trailing slashes ("/var/lib/daiban/" -> "/var/lib/daiban").
std::string TrimSlashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Copies what `data_dir` holds into the existing, empty directory `to`, recording each
// file in `m`.
Status CopyDataDir(const std::string& data_dir, const std::string& to, BackupManifest* m) {
  DAIBAN_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(data_dir));
  std::vector<std::pair<std::string, mode_t>> dir_modes;
  for (const auto& e : entries) {
    const std::string src = data_dir + "/" + e.rel, dst = to + "/" + e.rel;
    if (e.directory) {
      DAIBAN_RETURN_IF_ERROR(MakeDir(dst, 0700));
      dir_modes.emplace_back(dst, ModeOf(src));
      continue;
    }
    const std::string name = fs::path(e.rel).filename().string();
    if (LeftOut(name)) continue;
    BackupManifest::File f;
    f.path = e.rel;
    f.database = IsDatabaseName(name);
    if (f.database) {
      // Read-write but changing nothing (no journal_mode pragma): unlike a read-only
      // connection, the last one to close removes the -wal and -shm files it needed.
      DbOptions as_is;
      as_is.wal = false;
      DAIBAN_ASSIGN_OR_RETURN(auto db, Db::Open(src, as_is));
      DAIBAN_RETURN_IF_ERROR(db->BackupTo(dst));
    } else if (Status s = CopyFile(src, dst, ModeOf(src)); !s.ok()) {
      if (s.code() == StatusCode::kNotFound) continue;  // removed since it was listed: no longer state
      return s;
    }
    DAIBAN_RETURN_IF_ERROR(HashFile(dst, &f.sha256, &f.size));
    m->files.push_back(std::move(f));
  }
  // Last, so that a directory without write permission could still be filled.
  for (const auto& [path, mode] : dir_modes) {
    if (::chmod(path.c_str(), mode) != 0) {
      return Unavailable("cannot set the mode of " + path + ": " + ErrnoText(errno));
    }
  }
  return Status::Ok();
}

std::string ManifestText(const BackupManifest& m) {
  std::ostringstream out;
  out << "daiban backup\n"
      << "kind: " << m.label.kind << "\n"
      << "of: " << m.label.of << "\n"
      << "software: " << m.label.software << "\n"
      << "made: " << m.made << "\n"
      << "from: " << m.from << "\n";
  for (const auto& f : m.files) out << "file " << f.size << " " << f.sha256 << " " << f.path << "\n";
  return out.str();
}

Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Unavailable("cannot write " + path + ": " + ErrnoText(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Unavailable("cannot write " + path + ": " + ErrnoText(e));
    }
    done += static_cast<size_t>(n);
  }
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return Unavailable("cannot flush " + path + " to disk: " + ErrnoText(e));
  return Status::Ok();
}

// A relative path in BACKUP.txt must stay inside the backup.
bool SafeRelativePath(const std::string& rel) {
  if (rel.empty() || rel.front() == '/') return false;
  for (const auto& part : fs::path(rel)) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

Result<BackupManifest> ParseManifest(const std::string& text, const std::string& label) {
  BackupManifest m;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto bad = [&](const std::string& why) {
    return InvalidArgument(label + " line " + std::to_string(n) + ": " + why);
  };
  while (std::getline(in, line)) {
    ++n;
    if (n == 1) {
      if (line != "daiban backup") {
        return InvalidArgument(label + ": not a daiban backup list (line 1 is not \"daiban backup\")");
      }
      continue;
    }
    if (line.empty()) continue;
    if (line.rfind("file ", 0) == 0) {
      std::istringstream fields(line.substr(5));
      BackupManifest::File f;
      std::string size;
      fields >> size >> f.sha256;
      std::getline(fields >> std::ws, f.path);
      char* end = nullptr;
      long long parsed = std::strtoll(size.c_str(), &end, 10);
      if (size.empty() || *end != '\0' || parsed < 0) return bad("the size is not a number");
      f.size = parsed;
      if (f.sha256.size() != 64 || f.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return bad("the SHA-256 is not 64 hex digits");
      }
      if (!SafeRelativePath(f.path)) return bad("the path must be relative and stay inside the backup");
      f.database = IsDatabaseName(fs::path(f.path).filename().string());
      m.files.push_back(std::move(f));
      continue;
    }
    size_t colon = line.find(": ");
    if (colon == std::string::npos) return bad("expected `key: value` or `file SIZE SHA256 PATH`");
    std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    // Other keys (a later version's) only inform: they are passed over.
    if (key == "kind") {
      m.label.kind = value;
    } else if (key == "of") {
      m.label.of = value;
    } else if (key == "software") {
      m.label.software = value;
    } else if (key == "made") {
      m.made = value;
    } else if (key == "from") {
      m.from = value;
    }
  }
  if (n == 0) return InvalidArgument(label + ": empty");
  if (m.label.kind.empty() || m.label.of.empty()) {
    return InvalidArgument(label + ": kind and of are required");
  }
  return m;
}

}  // namespace

int BackupManifest::databases() const {
  return static_cast<int>(
      std::count_if(files.begin(), files.end(), [](const File& f) { return f.database; }));
}

int64_t BackupManifest::bytes() const {
  int64_t sum = 0;
  for (const auto& f : files) sum += f.size;
  return sum;
}

std::string BackupManifest::Summary() const {
  int64_t b = bytes();
  std::string size;
  if (b < 1000) {
    size = Plural(b, "byte", "bytes");
  } else {
    static const char* kUnits[] = {"kB", "MB", "GB", "TB"};
    double v = static_cast<double>(b) / 1000.0;
    int unit = 0;
    while (v >= 1000.0 && unit < 3) {
      v /= 1000.0;
      ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
    size = buf;
  }
  return Plural(databases(), "database", "databases") + ", " +
         Plural(static_cast<int64_t>(files.size()), "file", "files") + ", " + size;
}

Result<BackupManifest> BackupDataDir(const std::string& data_dir_in, const std::string& backup_dir_in,
                                     const BackupLabel& label) {
  const std::string data_dir = TrimSlashes(data_dir_in), backup_dir = TrimSlashes(backup_dir_in);
  std::error_code ec;
  if (data_dir.empty() || !fs::is_directory(data_dir, ec)) return NotFound("no data directory " + data_dir);
  if (backup_dir.empty()) return InvalidArgument("the backup directory is required");
  if (fs::exists(backup_dir, ec)) {
    return AlreadyExists("backup to " + backup_dir +
                         ": it exists already (each backup goes into a new directory)");
  }
  const fs::path data_abs = fs::weakly_canonical(data_dir, ec),
                 backup_abs = fs::weakly_canonical(backup_dir, ec);
  const fs::path rel = fs::relative(backup_abs, data_abs, ec);
  if (rel.empty() || *rel.begin() != "..") {
    return InvalidArgument("backup to " + backup_dir + ": it is inside the data directory " + data_dir +
                           "; put backups elsewhere");
  }
  for (const std::string* s : {&label.kind, &label.of, &label.software}) {
    if (s->find('\n') != std::string::npos) return InvalidArgument("backup label: no line breaks");
  }
  const std::string partial = backup_dir + ".partial";
  if (Status s = MakeDir(partial, 0700); !s.ok()) {
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("backup to " + backup_dir + ": " + partial +
                           " exists: another backup is running, or one was cut off (then remove it)");
    }
    return s.WithContext("backup to " + backup_dir);
  }
  BackupManifest m;
  m.label = label;
  m.made = LocalTime(NowMillis(), "%Y-%m-%d %H:%M:%S %z");
  m.from = data_abs.string();
  Status s = CopyDataDir(data_dir, partial, &m);
  if (s.ok()) s = WriteNewFile(partial + "/" + std::string(kBackupManifestName), ManifestText(m), 0600);
  if (s.ok()) s = SyncDirs(partial);
  if (s.ok()) s = RenameNoReplace(partial, backup_dir);
  if (s.ok()) s = SyncPath(ParentOf(backup_dir));
  if (!s.ok()) {
    fs::remove_all(partial, ec);  // our own half-made copy
    return s.WithContext("backup of " + data_dir + " to " + backup_dir);
  }
  return m;
}

Result<BackupManifest> CheckBackup(const std::string& backup_dir_in) {
  const std::string backup_dir = TrimSlashes(backup_dir_in);
  const std::string list = backup_dir + "/" + std::string(kBackupManifestName);
  std::error_code ec;
  if (!fs::is_directory(backup_dir, ec)) return NotFound("no backup directory " + backup_dir);
  if (!fs::exists(list, ec)) {
    return NotFound("no backup in " + backup_dir + ": " + std::string(kBackupManifestName) +
                    " is missing (a backup cut off before it was complete?)");
  }
  std::ifstream in(list, std::ios::binary);
  if (!in.is_open()) return Unavailable("cannot read " + list);
  std::stringstream text;
  text << in.rdbuf();
  DAIBAN_ASSIGN_OR_RETURN(BackupManifest m, ParseManifest(text.str(), list));
  const std::string damaged = "the backup in " + backup_dir + " is damaged or was altered: ";
  for (const auto& f : m.files) {
    const std::string path = backup_dir + "/" + f.path;
    if (!fs::is_regular_file(path, ec)) return DataLoss(damaged + f.path + " is missing");
    std::string sha;
    int64_t size = 0;
    DAIBAN_RETURN_IF_ERROR(HashFile(path, &sha, &size));
    if (size != f.size) {
      return DataLoss(damaged + f.path + " has " + std::to_string(size) + " bytes, " +
                      std::string(kBackupManifestName) + " says " + std::to_string(f.size));
    }
    if (sha != f.sha256) {
      return DataLoss(damaged + f.path + " differs from " + std::string(kBackupManifestName) + " (SHA-256)");
    }
  }
  DAIBAN_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(backup_dir));
  for (const auto& e : entries) {
    if (e.directory || e.rel == kBackupManifestName) continue;
    bool listed = std::any_of(m.files.begin(), m.files.end(), [&](const auto& f) { return f.path == e.rel; });
    if (!listed) return DataLoss(damaged + e.rel + " is not in " + std::string(kBackupManifestName));
  }
  return m;
}

Result<RestoreReport> RestoreDataDir(const std::string& backup_dir_in, const BackupManifest& manifest,
                                     const std::string& data_dir_in, const std::vector<std::string>& keep) {
  const std::string backup_dir = TrimSlashes(backup_dir_in), data_dir = TrimSlashes(data_dir_in);
  if (data_dir.empty() || data_dir == "/") return InvalidArgument("restore: the data directory is required");
  std::error_code ec;
  const bool had = fs::exists(data_dir, ec);
  if (had && !fs::is_directory(data_dir, ec)) {
    return FailedPrecondition("restore: " + data_dir + " is not a directory");
  }
  struct stat old {};
  if (had && ::stat(data_dir.c_str(), &old) != 0) {
    return Unavailable("cannot read " + data_dir + ": " + ErrnoText(errno));
  }

  // The names beside the data directory: the new tree, and where the current one goes.
  std::string stamp = LocalTime(NowMillis(), "%Y%m%d-%H%M%S");
  std::string staging, aside;
  for (int i = 1;; ++i) {
    std::string suffix = stamp + (i == 1 ? "" : "-" + std::to_string(i));
    staging = data_dir + ".restoring-" + suffix;
    aside = data_dir + ".before-restore-" + suffix;
    if (!fs::exists(staging, ec) && !fs::exists(aside, ec)) break;
    if (i == 100) return AlreadyExists("restore: " + staging + " exists already");
  }
  DAIBAN_RETURN_IF_ERROR(MakeDir(staging, 0700).WithContext("restore"));

  RestoreReport report;
  auto is_kept = [&](const std::string& rel) {
    std::string top = rel.substr(0, rel.find('/'));
    return std::find(report.kept.begin(), report.kept.end(), top) != report.kept.end();
  };
  for (const auto& k : keep) {
    if (had && fs::exists(data_dir + "/" + k, ec)) report.kept.push_back(k);
  }
  auto fill = [&]() -> Status {
    std::vector<std::pair<std::string, mode_t>> dir_modes;
    // The kept entries, as they are now.
    for (const auto& k : report.kept) {
      const std::string top = data_dir + "/" + k;
      if (!fs::is_directory(top, ec)) {
        DAIBAN_RETURN_IF_ERROR(CopyFile(top, staging + "/" + k, ModeOf(top)));
        continue;
      }
      DAIBAN_RETURN_IF_ERROR(MakeDir(staging + "/" + k, 0700));
      dir_modes.emplace_back(staging + "/" + k, ModeOf(top));
      DAIBAN_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(top));
      for (const auto& e : entries) {
        const std::string src = top + "/" + e.rel, dst = staging + "/" + k + "/" + e.rel;
        if (e.directory) {
          DAIBAN_RETURN_IF_ERROR(MakeDir(dst, 0700));
          dir_modes.emplace_back(dst, ModeOf(src));
        } else if (!LeftOut(fs::path(e.rel).filename().string())) {
          DAIBAN_RETURN_IF_ERROR(CopyFile(src, dst, ModeOf(src)));
        }
      }
    }
    // The backup's directories, then its files, each checked again once copied.
    DAIBAN_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(backup_dir));
    for (const auto& e : entries) {
      if (!e.directory || is_kept(e.rel)) continue;
      DAIBAN_RETURN_IF_ERROR(MakeDir(staging + "/" + e.rel, 0700));
      dir_modes.emplace_back(staging + "/" + e.rel, ModeOf(backup_dir + "/" + e.rel));
    }
    for (const auto& f : manifest.files) {
      if (is_kept(f.path)) continue;
      const std::string src = backup_dir + "/" + f.path, dst = staging + "/" + f.path;
      DAIBAN_RETURN_IF_ERROR(CopyFile(src, dst, ModeOf(src)));
      std::string sha;
      int64_t size = 0;
      DAIBAN_RETURN_IF_ERROR(HashFile(dst, &sha, &size));
      if (sha != f.sha256 || size != f.size) {
        return DataLoss(f.path + " changed in the backup while it was being restored, or was copied wrong");
      }
    }
    for (const auto& [path, mode] : dir_modes) {
      if (::chmod(path.c_str(), mode) != 0) {
        return Unavailable("cannot set the mode of " + path + ": " + ErrnoText(errno));
      }
    }
    if (had && ::geteuid() == 0) {
      // Run as root for a service that runs as its own user: give the new tree that user.
      DAIBAN_ASSIGN_OR_RETURN(std::vector<TreeEntry> all, ListTree(staging));
      all.push_back({"", true});
      for (const auto& e : all) {
        std::string path = e.rel.empty() ? staging : staging + "/" + e.rel;
        if (::lchown(path.c_str(), old.st_uid, old.st_gid) != 0) {
          return Unavailable("cannot give " + path + " its owner: " + ErrnoText(errno));
        }
      }
    }
    return SyncDirs(staging);
  };
  if (Status s = fill(); !s.ok()) {
    fs::remove_all(staging, ec);  // our own half-made tree; the data directory is untouched
    return s.WithContext("restore into " + data_dir);
  }
  if (had) {
    // A directory holding nothing, or only the lock of the restore itself, is not kept.
    bool empty = true;
    for (const auto& e : fs::directory_iterator(data_dir, ec)) {
      empty = empty && e.path().filename() == "serve.lock";
    }
    if (empty && !ec) {
      fs::remove(data_dir + "/serve.lock", ec);
      empty = ::rmdir(data_dir.c_str()) == 0;
    }
    if (empty && !ec) {
      // nothing to keep
    } else if (Status s = RenameNoReplace(data_dir, aside); !s.ok()) {
      fs::remove_all(staging, ec);
      return Unavailable(
          "restore: cannot move " + data_dir + " aside to " + aside + " (" + s.message() +
          "); nothing was changed. If it is a mount point, restore into a directory inside it");
    } else {
      report.moved_aside = aside;
    }
  }
  if (Status s = RenameNoReplace(staging, data_dir); !s.ok()) {
    if (!report.moved_aside.empty() && RenameNoReplace(report.moved_aside, data_dir).ok()) {
      fs::remove_all(staging, ec);
      return s.WithContext("restore: nothing was changed");
    }
    return s.WithContext("restore: the restored tree is in " + staging + " and the previous one in " + aside +
                         "; rename them by hand");
  }
  if (Status s = SyncPath(ParentOf(data_dir)); !s.ok()) return s.WithContext("restore");
  return report;
}

// ---- DataDirLock ----

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& dir) {
  const std::string path = TrimSlashes(dir) + "/serve.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot open " + path + ": " + ErrnoText(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (e == EWOULDBLOCK) {
      return FailedPrecondition(TrimSlashes(dir) + " is in use by process " + (pid.empty() ? "?" : pid));
    }
    return Unavailable("cannot lock " + path + ": " + ErrnoText(e));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message; the lock holds without it.
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() { ::close(fd_); }

}  // namespace daiban::common
