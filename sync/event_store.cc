#include "sync/event_store.h"

#include <openssl/rand.h>

#include <cstdio>
#include <optional>

#include "sync/protocol.h"
#include "sync/verify.h"

namespace daiban::sync {

using common::Result;
using common::Status;
using common::Stmt;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  case_id TEXT NOT NULL,
  region TEXT NOT NULL,
  origin TEXT NOT NULL,
  hlc INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  hash TEXT NOT NULL,
  chain TEXT NOT NULL,
  source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_case ON events(case_id);
CREATE TABLE IF NOT EXISTS cases(
  case_id TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  status TEXT NOT NULL,
  digest TEXT NOT NULL,
  state TEXT NOT NULL,
  updated_seq INTEGER NOT NULL,
  fold_hlc INTEGER);
CREATE INDEX IF NOT EXISTS cases_region ON cases(region);
CREATE TABLE IF NOT EXISTS vv(
  origin_inc TEXT PRIMARY KEY,
  origin_region TEXT NOT NULL,
  have INTEGER NOT NULL DEFAULT 0,
  up INTEGER NOT NULL DEFAULT 0,
  hub INTEGER NOT NULL DEFAULT 0,
  changed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS vv_changed ON vv(changed);
CREATE TABLE IF NOT EXISTS subtree(
  prefix TEXT PRIMARY KEY,
  max_seq INTEGER NOT NULL,
  count INTEGER NOT NULL,
  sum INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS peers(
  peer TEXT PRIMARY KEY,
  pushed_seq INTEGER NOT NULL DEFAULT 0, pushed_chain TEXT NOT NULL DEFAULT '',
  pulled_seq INTEGER NOT NULL DEFAULT 0, pulled_chain TEXT NOT NULL DEFAULT '',
  ack_cursor INTEGER NOT NULL DEFAULT 0,
  received_seq INTEGER NOT NULL DEFAULT 0, received_chain TEXT NOT NULL DEFAULT '',
  last_ok_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  resend_until INTEGER NOT NULL DEFAULT 0,
  pull_full INTEGER NOT NULL DEFAULT 0,
  mark_seq INTEGER NOT NULL DEFAULT 0, mark_chain TEXT NOT NULL DEFAULT '',
  ack_epoch TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS quarantine(
  id TEXT PRIMARY KEY,
  peer TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refusals(
  n INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  peer TEXT NOT NULL,
  event_id TEXT NOT NULL,
  case_id TEXT NOT NULL,
  code TEXT NOT NULL,
  reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts(
  n INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  node TEXT NOT NULL,
  kind TEXT NOT NULL,
  seq INTEGER NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_node ON alerts(node, n);
)sql";

std::string RandomIncarnation() {
  unsigned char b[kIncarnationHexDigits / 2];
  if (RAND_bytes(b, sizeof b) != 1) {
    std::fprintf(stderr, "PANIC: no randomness for the store incarnation\n");
    std::abort();
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

// First 8 bytes of a hex SHA-256 as an integer: summed (mod 2^64) into subtree digests.
uint64_t HashPrefix(const std::string& hex) {
  uint64_t v = 0;
  for (size_t i = 0; i < 16 && i < hex.size(); ++i) {
    char c = hex[i];
    v = (v << 4) | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return v;
}

std::string OriginInc(const std::string& id) {
  size_t b = id.rfind('.');
  return id.substr(0, b);
}


}  // namespace

common::Json LogPositionToJson(const LogPosition& p) { return {{"seq", p.seq}, {"chain", p.chain}}; }

Result<LogPosition> LogPositionFromJson(const common::Json& j, std::string_view where) {
  if (!j.is_object()) return common::InvalidArgument(std::string(where) + ": must be an object {seq, chain}");
  LogPosition p;
  DAIBAN_ASSIGN_OR_RETURN(p.seq, common::GetInt(j, "seq", where));
  DAIBAN_ASSIGN_OR_RETURN(p.chain, common::GetString(j, "chain", where));
  if (p.seq < 0) return common::InvalidArgument(std::string(where) + ".seq: must not be negative");
  if (p.chain.size() > 64) return common::InvalidArgument(std::string(where) + ".chain: too long");
  return p;
}

std::string RegionPrefix(std::string_view region12) {
  if (region12.size() != 12) return std::string(region12);
  static constexpr size_t kCuts[] = {2, 4, 6, 9, 12};
  size_t end = 12;
  for (int i = 4; i >= 1; --i) {
    size_t from = kCuts[i - 1], to = kCuts[i];
    if (region12.substr(from, to - from).find_first_not_of('0') != std::string_view::npos) break;
    end = from;
  }
  return std::string(region12.substr(0, end));
}

std::vector<std::string> SubtreePrefixes(std::string_view region) {
  if (region.empty()) return {""};
  std::vector<std::string> out;
  std::string sig = RegionPrefix(region);
  for (size_t cut : {2, 4, 6, 9, 12}) {
    if (cut <= sig.size()) out.push_back(sig.substr(0, cut));
  }
  return out;
}

Result<std::unique_ptr<EventStore>> EventStore::Open(const StoreOptions& options) {
  DAIBAN_RETURN_IF_ERROR(ValidateNodeId(options.node_id));
  if (options.region.size() != 12) return common::InvalidArgument("store: region must be a 12-digit code");
  common::DbOptions dbo;
  dbo.synchronous_full = options.synchronous_full;
  DAIBAN_ASSIGN_OR_RETURN(auto db, options.image.empty() ? common::Db::Open(options.path, dbo)
                                                         : common::Db::OpenImage(options.image, dbo));
  std::string inc = options.incarnation.empty() ? RandomIncarnation() : options.incarnation;
  if (inc.size() != kIncarnationHexDigits) return common::InvalidArgument("store: incarnation must be 12 hex digits");
  std::unique_ptr<EventStore> store(new EventStore(options, std::move(db), inc));
  DAIBAN_RETURN_IF_ERROR(store->Migrate());
  return store;
}

EventStore::EventStore(StoreOptions o, std::unique_ptr<common::Db> db, std::string incarnation)
    : options_(std::move(o)), db_(std::move(db)), incarnation_(std::move(incarnation)) {}

EventStore::~EventStore() { AbortBatch(); }

Status EventStore::Migrate() {
  // One transaction: a new store's ~20 tables, indexes and meta rows cost one durable
  // commit, not one each (~60 ms on a new file here, which the city benchmark showed).
  DAIBAN_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  Status s = MigrateLocked();
  if (s.ok() && fold_listener_) s = fold_listener_->Flush();
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) {
    (void)db_->Exec("ROLLBACK");
    return s;
  }
  return Status::Ok();
}

Status EventStore::MigrateLocked() {
  DAIBAN_RETURN_IF_ERROR(db_->Exec(kSchema));
  // cases.fold_hlc came later: a store from before gets the column, NULL (not known) in
  // every row, so each case is folded from its log once before it folds incrementally.
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * col, db_->Prepare("SELECT COUNT(*) FROM pragma_table_info('cases') WHERE name = 'fold_hlc'"));
  DAIBAN_ASSIGN_OR_RETURN(bool has_row, col->Step());
  const bool has_fold_hlc = has_row && col->ColumnInt(0) > 0;
  col->Reset();
  if (!has_fold_hlc) DAIBAN_RETURN_IF_ERROR(db_->Exec("ALTER TABLE cases ADD COLUMN fold_hlc INTEGER"));
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT value FROM meta WHERE key='node_id'"));
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  if (row) {
    std::string stored = q->ColumnText(0);
    q->Reset();
    if (stored != options_.node_id) {
      return common::InvalidArgument("store " + db_->path() + " belongs to node '" + stored + "', not '" +
                                     options_.node_id + "'");
    }
  } else {
    q->Reset();
    DAIBAN_ASSIGN_OR_RETURN(Stmt * ins, db_->Prepare("INSERT INTO meta(key, value) VALUES(?, ?)"));
    DAIBAN_RETURN_IF_ERROR(ins->Bind(1, "node_id").Bind(2, options_.node_id).Run());
    DAIBAN_ASSIGN_OR_RETURN(ins, db_->Prepare("INSERT INTO meta(key, value) VALUES(?, ?)"));
    DAIBAN_RETURN_IF_ERROR(ins->Bind(1, "region").Bind(2, options_.region).Run());
  }
  DAIBAN_ASSIGN_OR_RETURN(LogPosition end, End());
  last_chain_ = end.chain;
  DAIBAN_ASSIGN_OR_RETURN(Stmt * ac, db_->Prepare("SELECT COALESCE(MAX(changed), 0) FROM vv"));
  DAIBAN_ASSIGN_OR_RETURN(bool r2, ac->Step());
  ack_clock_ = r2 ? ac->ColumnInt(0) : 0;
  ac->Reset();
  return Status::Ok();
}

Status EventStore::BeginBatch(Commit commit) {
  if (in_batch_) return common::Internal("store: batch already open");
  // SQLite changes the level only outside a transaction; EndLazy() puts FULL back after
  // a lazy batch, and a failed put-back is retried here before any durable batch.
  const bool lazy = commit == Commit::kLazy && options_.synchronous_full;
  if (lazy != relaxed_) {
    DAIBAN_RETURN_IF_ERROR(db_->Exec(lazy ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL"));
    relaxed_ = lazy;
  }
  DAIBAN_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  in_batch_ = true;
  return Status::Ok();
}

Status EventStore::EndLazy() {
  if (!relaxed_) return Status::Ok();
  DAIBAN_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=FULL"));
  relaxed_ = false;
  return Status::Ok();
}

void EventStore::AbortBatch() {
  if (!in_batch_) return;
  (void)db_->Exec("ROLLBACK");
  in_batch_ = false;
  if (fold_listener_) fold_listener_->Discard();
  (void)EndLazy();
  auto end = End();
  last_chain_ = end.ok() ? end->chain : std::string();
  dirty_cases_.clear();
  dirty_origins_.clear();
  subtree_delta_.clear();
  ack_clock_bumped_ = false;
}

Status EventStore::CommitBatch() {
  if (!in_batch_) return common::Internal("store: commit without a batch");
  Status s;
  for (auto& [case_id, dirty] : dirty_cases_) {
    s = RefoldCase(case_id, &dirty);
    if (!s.ok()) break;
  }
  if (s.ok()) {
    for (const auto& [oi, region] : dirty_origins_) {
      s = AdvanceVv(oi, region);
      if (!s.ok()) break;
    }
  }
  if (s.ok()) {
    // The sum wraps mod 2^64; SQLite integer arithmetic turns an overflowing
    // sum into a REAL, so the addition is done here, not in SQL.
    for (const auto& [prefix, d] : subtree_delta_) {
      auto read = db_->Prepare("SELECT sum FROM subtree WHERE prefix = ?");
      if (!read.ok()) {
        s = read.status();
        break;
      }
      (*read)->Bind(1, prefix);
      auto row = (*read)->Step();
      if (!row.ok()) {
        s = row.status();
        break;
      }
      uint64_t sum = *row ? static_cast<uint64_t>((*read)->ColumnInt(0)) : 0;
      (*read)->Reset();
      sum += d.sum;
      auto st = db_->Prepare(
          "INSERT INTO subtree(prefix, max_seq, count, sum) VALUES(?1, ?2, ?3, ?4) "
          "ON CONFLICT(prefix) DO UPDATE SET max_seq = MAX(max_seq, ?2), count = count + ?3, sum = ?4");
      if (!st.ok()) {
        s = st.status();
        break;
      }
      s = (*st)->Bind(1, prefix).Bind(2, d.max_seq).Bind(3, d.count).Bind(4, static_cast<int64_t>(sum)).Run();
      if (!s.ok()) break;
    }
  }
  if (s.ok() && fold_listener_) s = fold_listener_->Flush();
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) {
    int64_t clock_before = ack_clock_bumped_ ? ack_clock_ - 1 : ack_clock_;
    AbortBatch();
    ack_clock_ = clock_before;
    return s;
  }
  in_batch_ = false;
  dirty_cases_.clear();
  dirty_origins_.clear();
  subtree_delta_.clear();
  ack_clock_bumped_ = false;
  if (options_.synchronous_full && !relaxed_) ++durable_commits_;
  return EndLazy();  // the commit is in either way
}

Result<InsertOutcome> EventStore::Insert(const Event& e, std::string_view source) {
  return InsertImpl(e, source, nullptr);
}

Result<InsertOutcome> EventStore::Insert(Event&& e, std::string_view source) { return InsertImpl(e, source, &e); }

// `take`, if set, is `e` itself: moved into the batch's fold list instead of copied.
Result<InsertOutcome> EventStore::InsertImpl(const Event& e, std::string_view source, Event* take) {
  if (!in_batch_) return common::Internal("store: insert outside a batch");
  std::string data = EncodeEvent(e);
  std::string hash = common::Sha256Hex(data);
  std::string chain = common::Sha256Hex(last_chain_ + hash);
  // Insert unless the id is there already; only then look at what is stored.
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * ins, db_->Prepare("INSERT OR IGNORE INTO events(id, case_id, region, origin, hlc, kind, data, hash, chain, "
                               "source) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, e.id).Bind(2, e.case_id).Bind(3, e.region).Bind(4, e.origin);
  ins->Bind(5, static_cast<int64_t>(e.hlc)).Bind(6, e.kind).Bind(7, data).Bind(8, hash).Bind(9, chain);
  ins->Bind(10, source);
  DAIBAN_RETURN_IF_ERROR(ins->Run());
  if (db_->Changes() == 0) {
    DAIBAN_ASSIGN_OR_RETURN(Stmt * find, db_->Prepare("SELECT hash FROM events WHERE id = ?"));
    find->Bind(1, e.id);
    DAIBAN_ASSIGN_OR_RETURN(bool exists, find->Step());
    std::string stored = exists ? find->ColumnText(0) : std::string();
    find->Reset();
    if (stored == hash) return InsertOutcome::kDuplicate;
    return common::AlreadyExists("event " + e.id + " is already stored with different content (integrity error)");
  }
  last_chain_ = std::move(chain);
  int64_t seq = db_->LastInsertRowId();
  dirty_origins_.emplace(OriginInc(e.id), e.origin_region);
  uint64_t h = HashPrefix(hash);
  for (const auto& p : SubtreePrefixes(e.region)) {
    auto& d = subtree_delta_[p];
    d.max_seq = std::max(d.max_seq, seq);
    d.count += 1;
    d.sum += h;
  }
  if (!e.is_master()) {
    auto [it, first] = dirty_cases_.try_emplace(e.case_id);
    if (first) {
      DAIBAN_ASSIGN_OR_RETURN(Stmt * known, db_->Prepare("SELECT 1 FROM cases WHERE case_id = ?"));
      known->Bind(1, e.case_id);
      DAIBAN_ASSIGN_OR_RETURN(bool row, known->Step());
      known->Reset();
      it->second.is_new = !row;
    }
    // Last: e may be moved from here.
    if (take) {
      it->second.added.push_back(std::move(*take));
    } else {
      it->second.added.push_back(e);
    }
    if (it->second.added.back().canonical.empty()) it->second.added.back().canonical = std::move(data);
  }
  return InsertOutcome::kInserted;
}

Status EventStore::RefoldCase(const std::string& case_id, DirtyCase* dirty) {
  const FoldOutput output = fold_listener_ ? FoldOutput::kWithState : FoldOutput::kTextOnly;
  std::optional<CaseFold> fold;
  if (dirty->is_new) {
    if (dirty->added.empty()) return Status::Ok();
    fold = FoldCase(std::move(dirty->added), output);  // every event of a new case is in this batch
  } else {
    // Usually the batch's events only extend the case (sync/merge.h ExtendFold): fold them
    // onto the stored state. Else, or if the state's fold_hlc is not known, fold the log.
    DAIBAN_ASSIGN_OR_RETURN(Stmt * get, db_->Prepare("SELECT state, fold_hlc FROM cases WHERE case_id = ?"));
    get->Bind(1, case_id);
    DAIBAN_ASSIGN_OR_RETURN(bool row, get->Step());
    if (row && !get->ColumnIsNull(1)) {
      fold = ExtendFold(get->ColumnText(0), static_cast<HlcTimestamp>(get->ColumnInt(1)), std::move(dirty->added),
                        output);
    }
    get->Reset();
    if (fold) {
      ++extended_folds_;
    } else {
      DAIBAN_ASSIGN_OR_RETURN(std::vector<Event> events, CaseEvents(case_id));
      if (events.empty()) return Status::Ok();
      fold = FoldCase(std::move(events), output);
    }
  }
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * up, db_->Prepare("INSERT INTO cases(case_id, region, status, digest, state, updated_seq, fold_hlc) "
                              "VALUES(?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) FROM events), ?6) "
                              "ON CONFLICT(case_id) DO UPDATE SET status = ?3, digest = ?4, state = ?5, "
                              "updated_seq = excluded.updated_seq, fold_hlc = ?6"));
  up->Bind(1, case_id).Bind(2, fold->region).Bind(3, fold->status);
  up->Bind(4, fold->digest).Bind(5, fold->canonical).Bind(6, static_cast<int64_t>(fold->max_hlc));
  DAIBAN_RETURN_IF_ERROR(up->Run());
  return fold_listener_ ? fold_listener_->OnCaseFolded(case_id, fold->state) : Status::Ok();
}

Status EventStore::AdvanceVv(const std::string& origin_inc, const std::string& origin_region) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * get, db_->Prepare("SELECT have, hub FROM vv WHERE origin_inc = ?"));
  get->Bind(1, origin_inc);
  DAIBAN_ASSIGN_OR_RETURN(bool row, get->Step());
  int64_t have = row ? get->ColumnInt(0) : 0;
  int64_t hub = row ? get->ColumnInt(1) : 0;  // at the hub: follows have
  get->Reset();
  int64_t start = have;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool next, Contains(origin_inc + "." + std::to_string(have + 1)));
    if (!next) break;
    ++have;
  }
  if (have == start && row) return Status::Ok();
  if (is_hub()) hub = have;
  if (!ack_clock_bumped_) {
    ++ack_clock_;
    ack_clock_bumped_ = true;
  }
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * put, db_->Prepare("INSERT INTO vv(origin_inc, origin_region, have, hub, changed) VALUES(?1, ?2, ?3, ?4, ?5) "
                               "ON CONFLICT(origin_inc) DO UPDATE SET have = ?3, hub = MAX(hub, ?4), changed = ?5"));
  put->Bind(1, origin_inc).Bind(2, origin_region).Bind(3, have).Bind(4, hub).Bind(5, ack_clock_);
  return put->Run();
}

Status EventStore::RaiseAcks(const std::string& origin_inc, const std::string& origin_region, int64_t up,
                             int64_t hub) {
  if (!in_batch_) return common::Internal("store: RaiseAcks outside a batch");
  DAIBAN_ASSIGN_OR_RETURN(Stmt * get, db_->Prepare("SELECT up, hub FROM vv WHERE origin_inc = ?"));
  get->Bind(1, origin_inc);
  DAIBAN_ASSIGN_OR_RETURN(bool row, get->Step());
  int64_t cur_up = row ? get->ColumnInt(0) : 0;
  int64_t cur_hub = row ? get->ColumnInt(1) : 0;
  get->Reset();
  if (row && cur_up >= up && cur_hub >= hub) return Status::Ok();
  if (!ack_clock_bumped_) {
    ++ack_clock_;
    ack_clock_bumped_ = true;
  }
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * put, db_->Prepare("INSERT INTO vv(origin_inc, origin_region, have, up, hub, changed) "
                               "VALUES(?1, ?2, 0, ?3, ?4, ?5) ON CONFLICT(origin_inc) DO UPDATE SET "
                               "up = MAX(up, ?3), hub = MAX(hub, ?4), changed = ?5"));
  put->Bind(1, origin_inc).Bind(2, origin_region).Bind(3, up).Bind(4, hub).Bind(5, ack_clock_);
  return put->Run();
}

Result<VvRow> EventStore::GetVv(const std::string& origin_inc) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * get,
                          db_->Prepare("SELECT origin_region, have, up, hub FROM vv WHERE origin_inc = ?"));
  get->Bind(1, origin_inc);
  DAIBAN_ASSIGN_OR_RETURN(bool row, get->Step());
  VvRow v;
  v.origin_inc = origin_inc;
  if (row) {
    v.origin_region = get->ColumnText(0);
    v.have = get->ColumnInt(1);
    v.up = get->ColumnInt(2);
    v.hub = get->ColumnInt(3);
  }
  get->Reset();
  return v;
}

Result<std::vector<VvRow>> EventStore::VvChangedSince(int64_t counter, std::string_view prefix, int64_t* now) {
  *now = ack_clock_;
  std::vector<VvRow> out;
  if (counter > ack_clock_) counter = 0;  // a cursor from before my restore: send everything
  if (counter == ack_clock_) return out;
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * q,
      db_->Prepare("SELECT origin_inc, origin_region, have, up, hub FROM vv WHERE changed > ? ORDER BY changed"));
  q->Bind(1, counter);
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    std::string region = q->ColumnText(1);
    if (region.compare(0, prefix.size(), prefix) != 0) continue;
    out.push_back(VvRow{q->ColumnText(0), region, q->ColumnInt(2), q->ColumnInt(3), q->ColumnInt(4)});
  }
  return out;
}

int64_t EventStore::LastSeq() {
  auto q = db_->Prepare("SELECT COALESCE(MAX(seq), 0) FROM events");
  if (!q.ok()) return 0;
  auto row = (*q)->Step();
  int64_t v = row.ok() && *row ? (*q)->ColumnInt(0) : 0;
  (*q)->Reset();
  return v;
}

Result<LogPosition> EventStore::End() {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1"));
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  LogPosition p;
  if (row) p = {q->ColumnInt(0), q->ColumnText(1)};
  q->Reset();
  return p;
}

Status EventStore::VerifyChain() { return VerifyEventLog(db_.get()).status(); }

Result<std::string> EventStore::ChainAt(int64_t seq) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT chain FROM events WHERE seq = ?"));
  q->Bind(1, seq);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  std::string id = row ? q->ColumnText(0) : std::string();
  q->Reset();
  return id;
}

Result<bool> EventStore::Contains(const std::string& id) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT 1 FROM events WHERE id = ?"));
  q->Bind(1, id);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  q->Reset();
  return row;
}

Status EventStore::ReadLog(int64_t after, std::string_view prefix, bool include_master,
                           std::string_view exclude_source, int64_t exclude_after, size_t limit,
                           size_t max_bytes, size_t max_scan, std::vector<StoredEvent>* out, LogPosition* scanned,
                           bool* more) {
  out->clear();
  *more = false;
  scanned->seq = after;
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * q, db_->Prepare("SELECT seq, id, region, source, data, chain FROM events WHERE seq > ? ORDER BY seq LIMIT ?"));
  q->Bind(1, after).Bind(2, static_cast<int64_t>(max_scan + 1));
  size_t bytes = 0, rows = 0;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    if (rows == max_scan || out->size() == limit || (bytes >= max_bytes && !out->empty())) {
      *more = true;
      break;
    }
    ++rows;
    int64_t seq = q->ColumnInt(0);
    std::string id = q->ColumnText(1);
    std::string region = q->ColumnText(2);
    std::string source = q->ColumnText(3);
    scanned->seq = seq;
    scanned->chain = q->ColumnText(5);
    bool in_scope = region.empty() ? include_master : region.compare(0, prefix.size(), prefix) == 0;
    if (!in_scope || (seq > exclude_after && !exclude_source.empty() && source == exclude_source)) continue;
    StoredEvent se{seq, scanned->chain, q->ColumnText(4), std::move(source), std::move(region), std::move(id)};
    bytes += se.bytes.size();
    out->push_back(std::move(se));
  }
  q->Reset();
  return Status::Ok();
}

Result<int64_t> EventStore::SubtreeMaxSeq(std::string_view prefix) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT COALESCE(MAX(max_seq), 0) FROM subtree WHERE prefix IN (?, '')"));
  q->Bind(1, prefix);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  int64_t v = row ? q->ColumnInt(0) : 0;
  q->Reset();
  return v;
}

Result<std::string> EventStore::SubtreeDigest(std::string_view prefix) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT count, sum FROM subtree WHERE prefix = ?"));
  q->Bind(1, prefix);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  int64_t count = row ? q->ColumnInt(0) : 0;
  uint64_t sum = row ? static_cast<uint64_t>(q->ColumnInt(1)) : 0;
  q->Reset();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld:%016llx", static_cast<long long>(count), static_cast<unsigned long long>(sum));
  return std::string(buf);
}

Result<std::vector<Event>> EventStore::CaseEvents(const std::string& case_id) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT data FROM events WHERE case_id = ? ORDER BY seq"));
  q->Bind(1, case_id);
  std::vector<Event> out;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    auto e = DecodeStoredEvent(q->ColumnText(0));
    if (!e.ok()) {
      q->Reset();
      return common::DataLoss("stored event of case " + case_id + " does not decode: " + e.status().message());
    }
    out.push_back(std::move(e).value());
  }
  return out;
}

Result<CaseFold> EventStore::GetCase(const std::string& case_id) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT state, digest FROM cases WHERE case_id = ?"));
  q->Bind(1, case_id);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return common::NotFound("case " + case_id + " is not stored here");
  CaseFold f;
  f.canonical = q->ColumnText(0);
  f.digest = q->ColumnText(1);
  q->Reset();
  auto state = common::ParseJson(f.canonical, "case state");
  if (!state.ok()) return common::DataLoss(state.status().message());
  f.state = std::move(state).value();
  f.region = f.state.value("region", "");
  f.status = f.state.value("status", "");
  return f;
}

Result<std::vector<std::string>> EventStore::CaseIds() {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT case_id FROM cases ORDER BY case_id"));
  std::vector<std::string> out;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(q->ColumnText(0));
  }
  return out;
}

Result<std::vector<std::string>> EventStore::AllEventIds() {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT id FROM events ORDER BY id"));
  std::vector<std::string> out;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(q->ColumnText(0));
  }
  return out;
}

Result<int64_t> EventStore::EventCount() {
  // Every event counts once under "" (master data) or under its region's 2-digit prefix: the
  // subtree counters hold the total without a scan of the log.
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q,
                          db_->Prepare("SELECT COALESCE(SUM(count), 0) FROM subtree WHERE length(prefix) <= 2"));
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  int64_t n = row ? q->ColumnInt(0) : 0;
  q->Reset();
  return n;
}

Result<std::vector<std::string>> EventStore::CaseHeads(const std::string& case_id) {
  DAIBAN_ASSIGN_OR_RETURN(CaseFold f, GetCase(case_id));
  std::vector<std::string> heads;
  for (const auto& h : f.state["heads"]) heads.push_back(h.get<std::string>());
  return heads;
}

Result<PeerState> EventStore::GetPeer(const std::string& peer) {
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * q, db_->Prepare("SELECT pushed_seq, pushed_chain, pulled_seq, pulled_chain, ack_cursor, received_seq, "
                             "received_chain, last_ok_ms, last_error, last_seen_ms, resend_until, pull_full, "
                             "mark_seq, mark_chain, ack_epoch FROM peers WHERE peer = ?"));
  q->Bind(1, peer);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  PeerState p;
  p.peer = peer;
  if (row) {
    p.pushed = {q->ColumnInt(0), q->ColumnText(1)};
    p.pulled = {q->ColumnInt(2), q->ColumnText(3)};
    p.ack_cursor = q->ColumnInt(4);
    p.received = {q->ColumnInt(5), q->ColumnText(6)};
    p.last_ok_ms = q->ColumnInt(7);
    p.last_error = q->ColumnText(8);
    p.last_seen_ms = q->ColumnInt(9);
    p.resend_until = q->ColumnInt(10);
    p.pull_full = q->ColumnInt(11) != 0;
    p.mark = {q->ColumnInt(12), q->ColumnText(13)};
    p.ack_epoch = q->ColumnText(14);
  }
  q->Reset();
  return p;
}

Status EventStore::PutPeer(const PeerState& p) {
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * q, db_->Prepare("INSERT OR REPLACE INTO peers(peer, pushed_seq, pushed_chain, pulled_seq, pulled_chain, "
                             "ack_cursor, received_seq, received_chain, last_ok_ms, last_error, last_seen_ms, "
                             "resend_until, pull_full, mark_seq, mark_chain, ack_epoch) "
                             "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  q->Bind(1, p.peer).Bind(2, p.pushed.seq).Bind(3, p.pushed.chain).Bind(4, p.pulled.seq).Bind(5, p.pulled.chain);
  q->Bind(6, p.ack_cursor).Bind(7, p.received.seq).Bind(8, p.received.chain).Bind(9, p.last_ok_ms);
  q->Bind(10, p.last_error).Bind(11, p.last_seen_ms).Bind(12, p.resend_until).Bind(13, int64_t{p.pull_full});
  q->Bind(14, p.mark.seq).Bind(15, p.mark.chain).Bind(16, p.ack_epoch);
  return q->Run();
}

Result<std::vector<PeerState>> EventStore::Peers() {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT peer FROM peers ORDER BY peer"));
  std::vector<std::string> names;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    names.push_back(q->ColumnText(0));
  }
  std::vector<PeerState> out;
  for (const auto& n : names) {
    DAIBAN_ASSIGN_OR_RETURN(PeerState p, GetPeer(n));
    out.push_back(std::move(p));
  }
  return out;
}

Result<int64_t> EventStore::CountPending(int64_t after, std::string_view peer) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT COUNT(*) FROM events WHERE seq > ? AND source != ?"));
  q->Bind(1, after).Bind(2, peer);
  DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
  int64_t n = row ? q->ColumnInt(0) : 0;
  q->Reset();
  return n;
}

Status EventStore::Quarantine(const std::string& id, const std::string& peer, const std::string& reason,
                              int64_t now_ms) {
  DAIBAN_ASSIGN_OR_RETURN(
      Stmt * q, db_->Prepare("INSERT OR REPLACE INTO quarantine(id, peer, reason, at_ms) VALUES(?, ?, ?, ?)"));
  q->Bind(1, id).Bind(2, peer).Bind(3, reason).Bind(4, now_ms);
  return q->Run();
}

Result<std::vector<QuarantinedEvent>> EventStore::QuarantineList() {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT id, peer, reason, at_ms FROM quarantine ORDER BY at_ms, id"));
  std::vector<QuarantinedEvent> out;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back({q->ColumnText(0), q->ColumnText(1), q->ColumnText(2), q->ColumnInt(3)});
  }
  return out;
}

Status EventStore::RecordRefusal(const Refusal& r) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("INSERT INTO refusals(at_ms, peer, event_id, case_id, code, "
                                                 "reason) VALUES(?, ?, ?, ?, ?, ?)"));
  q->Bind(1, r.at_ms).Bind(2, r.peer).Bind(3, r.event_id).Bind(4, r.case_id);
  q->Bind(5, r.code).Bind(6, r.reason);
  DAIBAN_RETURN_IF_ERROR(q->Run());
  DAIBAN_ASSIGN_OR_RETURN(Stmt * trim, db_->Prepare("DELETE FROM refusals WHERE n <= ?"));
  trim->Bind(1, db_->LastInsertRowId() - static_cast<int64_t>(kMaxAuditRows));
  return trim->Run();
}

Result<std::vector<Refusal>> EventStore::Refusals(size_t limit) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT at_ms, peer, event_id, case_id, code, reason "
                                                 "FROM refusals ORDER BY n DESC LIMIT ?"));
  q->Bind(1, static_cast<int64_t>(limit));
  std::vector<Refusal> out;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back({q->ColumnInt(0), q->ColumnText(1), q->ColumnText(2), q->ColumnText(3), q->ColumnText(4),
                   q->ColumnText(5)});
  }
  return out;
}

Status EventStore::RecordAlert(const HistoryAlert& a) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * last, db_->Prepare("SELECT kind, seq FROM alerts WHERE node = ? "
                                                    "ORDER BY n DESC LIMIT 1"));
  last->Bind(1, a.node);
  DAIBAN_ASSIGN_OR_RETURN(bool row, last->Step());
  const bool repeat = row && last->ColumnText(0) == a.kind && last->ColumnInt(1) == a.seq;
  last->Reset();
  if (repeat) return Status::Ok();
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("INSERT INTO alerts(at_ms, node, kind, seq, detail) "
                                                 "VALUES(?, ?, ?, ?, ?)"));
  q->Bind(1, a.at_ms).Bind(2, a.node).Bind(3, a.kind).Bind(4, a.seq).Bind(5, a.detail);
  DAIBAN_RETURN_IF_ERROR(q->Run());
  DAIBAN_ASSIGN_OR_RETURN(Stmt * trim, db_->Prepare("DELETE FROM alerts WHERE n <= ?"));
  trim->Bind(1, db_->LastInsertRowId() - static_cast<int64_t>(kMaxAuditRows));
  return trim->Run();
}

Result<std::vector<HistoryAlert>> EventStore::Alerts(size_t limit) {
  DAIBAN_ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT at_ms, node, kind, seq, detail FROM alerts "
                                                 "ORDER BY n DESC LIMIT ?"));
  q->Bind(1, static_cast<int64_t>(limit));
  std::vector<HistoryAlert> out;
  for (;;) {
    DAIBAN_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back({q->ColumnInt(0), q->ColumnText(1), q->ColumnText(2), q->ColumnInt(3), q->ColumnText(4)});
  }
  return out;
}

}  // namespace daiban::sync
