// Walking a store's hash-chained event log without opening it for writing: what
// `daiban-node verify` and `daiban-hub verify` run.
//
// Row n of the log (table events, in seq order) stores the SHA-256 of its bytes (hash) and
// chain = SHA-256(chain of row n-1 || hash) (PROTOCOL §3.5). Changing, inserting or
// removing a row in the middle breaks the chain at that row. (Rewriting a row and every
// chain after it is caught by the parent, which records the chain head it received from
// each child: docs/SECURITY.md.)
#ifndef DAIBAN_SYNC_VERIFY_H_
#define DAIBAN_SYNC_VERIFY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "common/status.h"

namespace daiban::sync {

struct ChainReport {
  int64_t events = 0;     // rows checked
  int64_t head_seq = 0;   // the last row's seq (0 if empty)
  std::string head_chain;  // and its chain hash
};

// Checks every row of `db`'s event log. kDataLoss "event log damaged or altered at seq N
// (event ID): <content changed | chain broken | seq gap>" naming the first bad row.
common::Result<ChainReport> VerifyEventLog(common::Db* db);

// The head of each child's log as this node last received it (seq and chain hash), which
// the child's own log must still have: its `verify` output can be compared with this.
struct RecordedHead {
  std::string peer;
  int64_t seq = 0;
  std::string chain;
};

// The store's whole check: its own chain, and the heads it recorded for its children.
struct StoreReport {
  ChainReport chain;
  std::vector<RecordedHead> children;
  std::vector<std::string> alerts;  // the newest 20 history alerts about children, in words
};

// Opens the store at `path` read-only (the file is not changed) and checks it.
// kNotFound if there is no such file.
common::Result<StoreReport> VerifyStoreFile(const std::string& path);

// Runs VerifyStoreFile and prints the report (or the error) for a person; the exit code of
// `daiban-node verify` / `daiban-hub verify`: 0 intact, 1 altered or unreadable.
int PrintVerify(const std::string& path);

}  // namespace daiban::sync

#endif  // DAIBAN_SYNC_VERIFY_H_
