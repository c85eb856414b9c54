#include "common/users.h"

#include "common/credential.h"
#include "common/password.h"

namespace daiban::common {

Result<std::unique_ptr<UserBook>> UserBook::Open(const std::string& path, const Clock* clock,
                                                         int session_hours) {
  DAIBAN_ASSIGN_OR_RETURN(auto db, Db::Open(path));
  DAIBAN_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS users(name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL, "
      "updated_ms INTEGER NOT NULL)"));
  return std::unique_ptr<UserBook>(new UserBook(std::move(db), clock, session_hours));
}

Status UserBook::Add(const std::string& name, Role role, const std::string& password, bool replace) {
  bool name_ok = !name.empty() && name.size() <= 32;
  for (char c : name) name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!name_ok) return InvalidArgument("name: 1 to 32 letters, digits, '-', '_' or '.'");
  if (role == Role::kSystem) return InvalidArgument("role: agent, clerk, supervisor or admin");
  DAIBAN_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  std::lock_guard<std::mutex> lock(mu_);
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare(replace ? "INSERT OR REPLACE INTO users VALUES(?, ?, ?, ?)"
                                                                  : "INSERT OR IGNORE INTO users VALUES(?, ?, ?, ?)"));
  q->Bind(1, name).Bind(2, RoleName(role)).Bind(3, hash).Bind(4, clock_->NowMillis());
  DAIBAN_RETURN_IF_ERROR(q->Run());
  if (db_->Changes() == 0) return AlreadyExists("name: user '" + name + "' exists (use --replace to change it)");
  // A changed password or role ends that user's sessions.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.user.name == name ? sessions_.erase(it) : std::next(it);
  }
  return Status::Ok();
}

Result<std::vector<User>> UserBook::List() {
  std::lock_guard<std::mutex> lock(mu_);
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT name, role FROM users ORDER BY name"));
  std::vector<User> out;
  while (true) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    auto role = ParseRole(q->ColumnText(1));
    out.push_back({q->ColumnText(0), role.ok() ? *role : Role::kAgent});
  }
  q->Reset();
  return out;
}

Result<std::string> UserBook::Login(const std::string& name, const std::string& password) {
  const Status denied = PermissionDenied("wrong user name or password");
  std::string stored, role_name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->NowMillis();
    auto f = failures_.find(name);
    if (f != failures_.end() && f->second.locked_until_ms > now) {
      int64_t minutes = (f->second.locked_until_ms - now + 59999) / 60000;
      return ResourceExhausted("too many failed sign-ins for this user; try again in " + std::to_string(minutes) +
                               " minutes");
    }
    DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT password, role FROM users WHERE name = ?"));
    q->Bind(1, name);
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      stored = q->ColumnText(0);
      role_name = q->ColumnText(1);
    }
    q->Reset();
  }
  // Check even for an unknown name, so both cases take the same time.
  static const std::string kDummy = [] {
    auto h = HashPassword("no such user, no such password");
    return h.ok() ? *h : std::string();
  }();
  bool ok = CheckPassword(password, stored.empty() ? kDummy : stored) && !stored.empty();
  if (!ok) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->NowMillis();
    Failures& f = failures_[name.substr(0, 64)];
    if (now - f.first_ms > kLockoutMs) f = Failures{0, now, 0};
    if (++f.count >= kMaxFailures) f = Failures{0, now, now + kLockoutMs};
    if (failures_.size() > 100000) failures_.clear();  // bounded memory under a flood of names
    return denied;
  }
  auto role = ParseRole(role_name);
  if (!role.ok()) return denied;
  DAIBAN_ASSIGN_OR_RETURN(std::string token, RandomHex(32));
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = clock_->NowMillis();
  failures_.erase(name);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.expires_ms <= now ? sessions_.erase(it) : std::next(it);
  }
  sessions_[token] = {{name, *role}, now + session_ms_};
  return token;
}

void UserBook::AddLocalToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[token] = {{"cli", Role::kAdmin}, INT64_MAX};
}

void UserBook::Logout(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(token);
}

Result<User> UserBook::Session(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(token);
  if (it == sessions_.end() || it->second.expires_ms <= clock_->NowMillis()) {
    if (it != sessions_.end()) sessions_.erase(it);
    return PermissionDenied("not signed in");
  }
  return it->second.user;
}

}  // namespace daiban::common
