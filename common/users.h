// The people who sign in at a node (agents, clerks, an admin) and their sessions.
//
// Users live in DATA/users.db with salted PBKDF2 password hashes; sessions are random
// tokens kept in memory (a restart signs everyone out). Thread-safe.
#ifndef DAIBAN_COMMON_USERS_H_
#define DAIBAN_COMMON_USERS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "common/tier.h"

namespace daiban::common {

struct User {
  std::string name;
  Role role = Role::kAgent;
};

class UserBook {
 public:
  // Opens (creating) the user database at `path`. REQUIRES: clock outlives the book.
  static Result<std::unique_ptr<UserBook>> Open(const std::string& path, const Clock* clock,
                                                        int session_hours);

  // Adds a user or, with `replace`, sets an existing user's role and password.
  // kInvalidArgument for a bad name ("name: 1 to 32 letters, digits, '-', '_' or '.'"),
  // a role other than agent, clerk, supervisor or admin, or a short password;
  // kAlreadyExists if the name is taken and !replace.
  Status Add(const std::string& name, Role role, const std::string& password, bool replace);
  Result<std::vector<User>> List();

  // Checks the password and opens a session. kPermissionDenied "wrong user name or
  // password" for both an unknown name and a wrong password. After kMaxFailures wrong
  // tries for one name within kLockoutMs, that name is locked for kLockoutMs (even with the
  // right password): kResourceExhausted "too many failed sign-ins for this user; try again
  // in N minutes". The lock is per name, in memory.
  static constexpr int kMaxFailures = 5;
  static constexpr int64_t kLockoutMs = 15 * 60 * 1000;
  Result<std::string> Login(const std::string& name, const std::string& password);
  void Logout(const std::string& token);
  // A session for the local command line (DATA/cli.token, readable only by the node's OS
  // user): user "cli", role admin, until the process ends.
  void AddLocalToken(const std::string& token);
  // The user of a live session; kPermissionDenied "not signed in" otherwise.
  Result<User> Session(const std::string& token);

 private:
  UserBook(std::unique_ptr<Db> db, const Clock* clock, int session_hours)
      : db_(std::move(db)), clock_(clock), session_ms_(int64_t{session_hours} * 3600 * 1000) {}

  struct Live {
    User user;
    int64_t expires_ms;
  };
  std::mutex mu_;
  std::unique_ptr<Db> db_;
  const Clock* clock_;
  int64_t session_ms_;
  std::map<std::string, Live> sessions_;
  struct Failures {
    int count = 0;
    int64_t first_ms = 0;   // start of the counting window
    int64_t locked_until_ms = 0;
  };
  std::map<std::string, Failures> failures_;  // by user name
};

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_USERS_H_
