#include "sync/verify.h"

#include <sys/stat.h>

#include <cstdio>

#include "common/json.h"

namespace daiban::sync {

common::Result<ChainReport> VerifyEventLog(common::Db* db) {
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db->Prepare("SELECT seq, id, data, hash, chain FROM events ORDER BY seq"));
  ChainReport report;
  std::string chain;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    int64_t seq = q->ColumnInt(0);
    std::string id = q->ColumnText(1);
    std::string hash = common::Sha256Hex(q->ColumnText(2));
    const char* why = nullptr;
    if (seq != report.head_seq + 1) {
      why = "seq gap (a row was removed)";
    } else if (hash != q->ColumnText(3)) {
      why = "content changed";
    } else if (common::Sha256Hex(chain + hash) != q->ColumnText(4)) {
      why = "chain broken";
    }
    if (why) {
      q->Reset();
      return common::DataLoss("event log damaged or altered at seq " + std::to_string(seq) + " (event " + id.substr(0, 80) +
                              "): " + why);
    }
    chain = common::Sha256Hex(chain + hash);
    report.events += 1;
    report.head_seq = seq;
    report.head_chain = chain;
  }
  q->Reset();
  return report;
}

common::Result<StoreReport> VerifyStoreFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return common::NotFound("no store at " + path);
  common::DbOptions options;
  options.read_only = true;
  options.wal = false;  // leave the journal mode as it is
  DAIBAN_ASSIGN_OR_RETURN(auto db, common::Db::Open(path, options));
  StoreReport report;
  DAIBAN_ASSIGN_OR_RETURN(report.chain, VerifyEventLog(db.get()));
  DAIBAN_ASSIGN_OR_RETURN(common::Stmt * q, db->Prepare("SELECT peer, received_seq, received_chain FROM peers "
                                                        "WHERE received_seq > 0 ORDER BY peer"));
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    report.children.push_back({q->ColumnText(0), q->ColumnInt(1), q->ColumnText(2)});
  }
  q->Reset();
  // What the sync service flagged about children's histories (newest first).
  auto alerts = db->Prepare("SELECT node, kind, seq, detail FROM alerts ORDER BY n DESC LIMIT 20");
  if (alerts.ok()) {
    for (;;) {
      DAIBAN_ASSIGN_OR_RETURN(bool row, (*alerts)->Step());
      if (!row) break;
      report.alerts.push_back((*alerts)->ColumnText(0) + " " + (*alerts)->ColumnText(1) + " at seq " +
                              std::to_string((*alerts)->ColumnInt(2)) + ": " + (*alerts)->ColumnText(3));
    }
    (*alerts)->Reset();
  }
  return report;
}

int PrintVerify(const std::string& path) {
  auto r = VerifyStoreFile(path);
  if (!r.ok()) {
    std::printf("NOT INTACT: %s\n", r.status().message().c_str());
    return 1;
  }
  std::printf("event log intact: %lld events, head seq %lld chain %s\n", static_cast<long long>(r->chain.events),
              static_cast<long long>(r->chain.head_seq), r->chain.head_chain.c_str());
  for (const auto& c : r->children) {
    std::printf("  child %s: its log at seq %lld had chain %s when it last synced here\n", c.peer.c_str(),
                static_cast<long long>(c.seq), c.chain.c_str());
  }
  for (const auto& a : r->alerts) std::printf("  ALERT %s\n", a.c_str());
  return 0;
}

}  // namespace daiban::sync
