// The service desk with a data key: personal fields encrypted at rest, masked everywhere,
// found by search hash, shown whole only by an audited Reveal (DESIGN.md §5).
//
// No assertion here prints a whole ID or phone number: comparisons of whole values use
// EXPECT_TRUE(a == b) with a mask in the message.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/field_crypto.h"
#include "common/master_data.h"
#include "common/personal_id.h"
#include "node/desk.h"
#include "sync/protocol.h"
#include "tests/support/case_gen.h"

namespace daiban::node {
namespace {

namespace fs = std::filesystem;
using common::FieldCipher;
using common::Json;
using common::Role;
using common::StatusCode;

const std::string kId = "11010519491231002X";
const std::string kPhone = "13800138000";
const std::string kVillage = "210921100202";
const std::string kTownship = "210921100000";

// One node: a store (in memory or a file), its replica and a desk.
struct TestDeskNode {
  std::unique_ptr<sync::Replica> replica;
  std::unique_ptr<Desk> desk;
};

class DeskCryptoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = common::LoadMasterData(std::string(DAIBAN_SOURCE_DIR) + "/config", kVillage);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    master_ = std::make_unique<common::MasterData>(std::move(m).value());
    auto k = FieldCipher::Generate(common::FieldAlg::kAes256Gcm);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    key_ = *k;
    auto other = FieldCipher::Generate(common::FieldAlg::kAes256Gcm);
    ASSERT_TRUE(other.ok());
    other_key_ = *other;
    village_ = MakeNode("v" + kVillage, kVillage, common::Tier::kVillage, &key_);
  }

  TestDeskNode MakeNode(const std::string& node_id, const std::string& region, common::Tier tier,
                        const FieldCipher* cipher, const std::string& path = ":memory:") {
    sync::StoreOptions so;
    so.path = path;
    so.node_id = node_id;
    so.region = region;
    so.tier = tier;
    so.synchronous_full = false;
    auto store = sync::EventStore::Open(so);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    TestDeskNode n;
    n.replica = std::make_unique<sync::Replica>(std::move(store).value(), &clock_);
    n.desk = std::make_unique<Desk>(n.replica.get(), &master_->catalog, &master_->calendar, &master_->regions,
                                    cipher);
    return n;
  }

  static Json Filing(const std::string& id, const std::string& phone, const std::string& name = "张三") {
    return {{"item", "MZ-003"},
            {"applicant_name", name},
            {"applicant_id", id},
            {"applicant_phone", phone},
            {"materials", {"申请书"}}};
  }

  // Files a case at `n` as agent1 and returns its id.
  std::string File(TestDeskNode& n, const Json& filing) {
    auto r = n.desk->FileCase(agent_, filing);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["case"]["id"].get<std::string>() : std::string();
  }

  // The body of the case's create event as stored.
  Json CreateBody(TestDeskNode& n, const std::string& case_id) {
    auto events = n.replica->store()->CaseEvents(case_id);
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events)
      if (e.kind == sync::kKindCreate) return e.body;
    ADD_FAILURE() << "no create event";
    return Json::object();
  }

  // Copies every event of `case_id` that `to` lacks from `from`, as replication would.
  static void Copy(TestDeskNode& from, TestDeskNode& to, const std::string& case_id) {
    auto events = from.replica->store()->CaseEvents(case_id);
    ASSERT_TRUE(events.ok());
    ASSERT_TRUE(to.replica->store()->BeginBatch().ok());
    for (const auto& e : *events) {
      to.replica->hlc()->Observe(e.hlc);
      ASSERT_TRUE(to.replica->store()->Insert(e, from.replica->node_id()).ok());
    }
    ASSERT_TRUE(to.replica->store()->CommitBatch().ok());
  }

  // An edit of applicant_id as a desk with `cipher` writes it.
  static Json EncryptedIdEdit(const FieldCipher& cipher, const std::string& id) {
    return {{"fields",
             {{"applicant_id", *cipher.Encrypt(id, "applicant_id")},
              {"applicant_id_hash", *cipher.SearchHash(id)},
              {"applicant_id_masked", common::MaskIdNumber(id)}}}};
  }

  static int64_t Events(TestDeskNode& n) { return *n.replica->store()->EventCount(); }

  Json Audit(TestDeskNode& n) {
    auto a = n.desk->UnmaskAudit(supervisor_, 100);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? (*a)["entries"] : Json::array();
  }

  common::FakeClock clock_{1737705600000};
  std::unique_ptr<common::MasterData> master_;
  FieldCipher key_, other_key_;
  TestDeskNode village_;
  User agent_{"agent1", Role::kAgent};
  User clerk_{"clerk1", Role::kClerk};
  User supervisor_{"super1", Role::kSupervisor};
  User admin_{"admin1", Role::kAdmin};
};

// ---------------------------------------------------------------------------

TEST_F(DeskCryptoTest, FiledCase_StoresTokensWithHashAndMasks) {
  std::string id = File(village_, Filing("11010519491231002x", kPhone));  // lower-case x normalised
  Json body = CreateBody(village_, id);
  std::string id_token = body.value("applicant_id", "");
  std::string phone_token = body.value("applicant_phone", "");
  ASSERT_TRUE(FieldCipher::IsEncrypted(id_token)) << id_token.substr(0, 20);
  ASSERT_TRUE(FieldCipher::IsEncrypted(phone_token));
  EXPECT_EQ(FieldCipher::TokenKeyId(id_token), key_.KeyId());
  auto id_plain = key_.Decrypt(id_token, "applicant_id");
  ASSERT_TRUE(id_plain.ok()) << id_plain.status().ToString();
  EXPECT_TRUE(*id_plain == kId) << common::MaskIdNumber(*id_plain);
  auto phone_plain = key_.Decrypt(phone_token, "applicant_phone");
  ASSERT_TRUE(phone_plain.ok());
  EXPECT_TRUE(*phone_plain == kPhone) << common::MaskPhone(*phone_plain);
  EXPECT_EQ(body["applicant_id_hash"], *key_.SearchHash(kId));
  EXPECT_EQ(body["applicant_id_masked"], "110105********002X");
  EXPECT_EQ(body["applicant_phone_masked"], "138****8000");
  std::string dump = body.dump();
  EXPECT_EQ(dump.find(kId), std::string::npos);
  EXPECT_EQ(dump.find(kPhone), std::string::npos);
  // The folded state holds tokens only.
  auto fold = village_.replica->store()->GetCase(id);
  ASSERT_TRUE(fold.ok());
  std::string state = fold->state.dump();
  EXPECT_EQ(state.find(kId), std::string::npos);
  EXPECT_EQ(state.find(kPhone), std::string::npos);
}

TEST_F(DeskCryptoTest, ListsDetailsAndReceiptsShowMasksOnly) {
  std::string id = File(village_, Filing(kId, kPhone));
  for (const User& u : {agent_, clerk_, supervisor_, admin_}) {
    auto d = village_.desk->Detail(u, id);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    const Json& f = (*d)["case"]["fields"];
    EXPECT_EQ(f["applicant_id"], "110105********002X") << common::RoleName(u.role);
    EXPECT_EQ(f["applicant_phone"], "138****8000");
    EXPECT_FALSE(f.contains("applicant_id_hash"));
    EXPECT_FALSE(f.contains("applicant_id_masked"));
    std::string dump = d->dump();
    EXPECT_EQ(dump.find(kId), std::string::npos);
    EXPECT_EQ(dump.find(kPhone), std::string::npos);
    EXPECT_EQ(dump.find("enc1."), std::string::npos);
  }
  EXPECT_EQ((*village_.desk->Detail(agent_, id))["case"]["revealable"], Json({"applicant_phone"}));
  EXPECT_EQ((*village_.desk->Detail(clerk_, id))["case"]["revealable"],
            Json({"applicant_id", "applicant_phone"}));
  EXPECT_EQ((*village_.desk->Detail(supervisor_, id))["case"]["revealable"], Json::array());
  // FileCase answers with the masked detail too.
  auto filed = village_.desk->FileCase(agent_, Filing(kId, kPhone, "李四"));
  ASSERT_TRUE(filed.ok());
  EXPECT_EQ((*filed)["case"]["fields"]["applicant_id"], "110105********002X");
  auto l = village_.desk->List(clerk_, CaseView::kQueue, "", "");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ((*l)["cases"].size(), 2u);
  for (const auto& row : (*l)["cases"]) EXPECT_EQ(row["applicant_id"], "110105********002X");
  auto html = village_.desk->ReceiptHtml(id);
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("110105********002X"), std::string::npos);
  EXPECT_NE(html->find("138****8000"), std::string::npos);
  EXPECT_EQ(html->find(kId), std::string::npos);
  EXPECT_EQ(html->find(kPhone), std::string::npos);
  EXPECT_EQ(html->find("enc1."), std::string::npos);
}

TEST_F(DeskCryptoTest, SearchByWholeIdUsesTheHashAndStillFindsLegacyPlainValues) {
  testing::CaseGenerator gen(&master_->catalog, 7);
  std::string other_id = gen.IdNumber("210921");
  std::string encrypted_case = File(village_, Filing(kId, kPhone, "张三"));
  std::string other_case = File(village_, Filing(other_id, "13900139000", "王五"));
  // A case filed before encryption was turned on: the same store, a desk without a key.
  Desk legacy(village_.replica.get(), &master_->catalog, &master_->calendar, &master_->regions);
  std::string legacy_id = "11010519800101001";
  legacy_id += common::IdNumberCheckChar(legacy_id);
  auto lr = legacy.FileCase(agent_, Filing(legacy_id, "13700137000", "赵六"));
  ASSERT_TRUE(lr.ok()) << lr.status().ToString();
  std::string legacy_case = (*lr)["case"]["id"];
  ASSERT_EQ(CreateBody(village_, legacy_case)["applicant_id"], legacy_id);  // stored plain

  auto find = [&](const std::string& q) {
    auto l = village_.desk->List(clerk_, CaseView::kQueue, q, "");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    std::vector<std::string> ids;
    if (l.ok())
      for (const auto& row : (*l)["cases"]) ids.push_back(row["id"]);
    return ids;
  };
  EXPECT_EQ(find("11010519491231002x"), std::vector<std::string>{encrypted_case});
  EXPECT_EQ(find(kId), std::vector<std::string>{encrypted_case});
  EXPECT_EQ(find(other_id), std::vector<std::string>{other_case});
  EXPECT_EQ(find(legacy_id), std::vector<std::string>{legacy_case});
  EXPECT_TRUE(find(kId.substr(0, 17)).empty());  // only a whole ID number matches
  EXPECT_TRUE(find("110105194912310011").empty());
  EXPECT_EQ(find("王").size(), 1u);
  // The legacy case is masked like the others, and revealed from its plain value.
  auto l = village_.desk->List(clerk_, CaseView::kQueue, legacy_id, "");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ((*l)["cases"][0]["applicant_id"], common::MaskIdNumber(legacy_id));
  auto d = village_.desk->Detail(agent_, legacy_case);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["case"]["fields"]["applicant_phone"], "137****7000");
  auto r = village_.desk->Reveal(clerk_, legacy_case, "applicant_id");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)["value"] == legacy_id) << common::MaskIdNumber((*r)["value"].get<std::string>());
}

TEST_F(DeskCryptoTest, Reveal_ByRoleAndEveryAttemptAudited) {
  std::string id = File(village_, Filing(kId, kPhone));
  int64_t events = Events(village_);
  EXPECT_TRUE(Audit(village_).empty());  // no table yet: an empty audit

  // The agent may not see the whole ID number...
  auto refused = village_.desk->Reveal(agent_, id, "applicant_id");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "only a clerk sees the whole ID number; you are signed in as agent");
  // ...but may see the phone, to follow up with the resident.
  auto phone = village_.desk->Reveal(agent_, id, "applicant_phone");
  ASSERT_TRUE(phone.ok()) << phone.status().ToString();
  EXPECT_TRUE((*phone)["value"] == kPhone) << common::MaskPhone((*phone)["value"].get<std::string>());
  // The clerk sees both.
  clock_.Advance(1000);
  auto whole = village_.desk->Reveal(clerk_, id, "applicant_id");
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ((*whole)["case"], id);
  EXPECT_EQ((*whole)["field"], "applicant_id");
  EXPECT_TRUE((*whole)["value"] == kId) << common::MaskIdNumber((*whole)["value"].get<std::string>());
  // Supervisors and admins see masks only.
  EXPECT_EQ(village_.desk->Reveal(supervisor_, id, "applicant_phone").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(village_.desk->Reveal(admin_, id, "applicant_id").status().code(), StatusCode::kPermissionDenied);
  // No such case: audited; another field: not an unmasking, refused and not audited.
  EXPECT_EQ(village_.desk->Reveal(clerk_, "nope", "applicant_id").status().code(), StatusCode::kNotFound);
  auto bad_field = village_.desk->Reveal(clerk_, id, "applicant_name");
  EXPECT_EQ(bad_field.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_field.status().message().rfind("field: ", 0), 0u);

  EXPECT_EQ(Events(village_), events);  // Reveal never writes an event
  Json audit = Audit(village_);
  ASSERT_EQ(audit.size(), 6u) << audit.dump();
  struct Row {
    const char* user;
    const char* role;
    const char* field;
    bool allowed;
    const char* outcome;
  } want[] = {
      // newest first
      {"clerk1", "clerk", "applicant_id", true, "not found"},
      {"admin1", "admin", "applicant_id", false, "refused"},
      {"super1", "supervisor", "applicant_phone", false, "refused"},
      {"clerk1", "clerk", "applicant_id", true, "shown"},
      {"agent1", "agent", "applicant_phone", true, "shown"},
      {"agent1", "agent", "applicant_id", false, "refused"},
  };
  for (size_t i = 0; i < audit.size(); ++i) {
    EXPECT_EQ(audit[i]["user"], want[i].user) << i;
    EXPECT_EQ(audit[i]["role"], want[i].role) << i;
    EXPECT_EQ(audit[i]["field"], want[i].field) << i;
    EXPECT_EQ(audit[i]["allowed"], want[i].allowed) << i;
    EXPECT_EQ(audit[i]["outcome"], want[i].outcome) << i;
    EXPECT_EQ(audit[i]["case"], i == 0 ? "nope" : id) << i;
  }
  EXPECT_EQ(audit[3]["at_ms"], 1737705601000);
  EXPECT_GT(audit[0]["seq"].get<int64_t>(), audit[5]["seq"].get<int64_t>());
  std::string dump = audit.dump();
  EXPECT_EQ(dump.find(kId), std::string::npos);
  EXPECT_EQ(dump.find(kPhone), std::string::npos);
  // Only supervisors and admins read the audit; the limit is checked.
  EXPECT_EQ(village_.desk->UnmaskAudit(clerk_, 10).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(village_.desk->UnmaskAudit(agent_, 10).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(village_.desk->UnmaskAudit(admin_, 10).ok());
  EXPECT_EQ(village_.desk->UnmaskAudit(supervisor_, 0).status().code(), StatusCode::kInvalidArgument);
  auto two = village_.desk->UnmaskAudit(supervisor_, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ((*two)["entries"].size(), 2u);
}

TEST_F(DeskCryptoTest, WrongKeyNode_RevealNamesBothKeysAndWritesOnlyTheAuditRow) {
  std::string id = File(village_, Filing(kId, kPhone));
  // The same store read by a desk holding another data key (a wrong key file).
  Desk wrong(village_.replica.get(), &master_->catalog, &master_->calendar, &master_->regions, &other_key_);
  int64_t events = Events(village_);
  auto r = wrong.Reveal(clerk_, id, "applicant_id");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "field cipher: encrypted with data key " + key_.KeyId() +
                                      ", this node has " + other_key_.KeyId() + ": wrong key file");
  EXPECT_EQ(Events(village_), events);
  Json audit = Audit(village_);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["allowed"], true);
  EXPECT_EQ(audit[0]["outcome"], "error: failed_precondition") << audit.dump();
  // Lists and details still work there. The mask comes from the companion written with
  // the value if the merge folds it beside the field (see node/desk.h); otherwise the
  // row says which key is missing.
  auto l = wrong.List(clerk_, CaseView::kQueue, "", "");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  bool folded = village_.replica->store()->GetCase(id)->state["fields"].contains("applicant_id_masked");
  EXPECT_EQ((*l)["cases"][0]["applicant_id"],
            folded ? "110105********002X" : "(data key " + key_.KeyId() + " is not at this node)");
  EXPECT_TRUE(wrong.Detail(clerk_, id).ok());
  EXPECT_TRUE((*wrong.List(clerk_, CaseView::kQueue, kId, ""))["cases"].empty());
  // A desk without any key cannot reveal an encrypted value either, and says so.
  Desk keyless(village_.replica.get(), &master_->catalog, &master_->calendar, &master_->regions);
  auto k = keyless.Reveal(clerk_, id, "applicant_phone");
  EXPECT_EQ(k.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(k.status().message().find("no data key"), std::string::npos);
  EXPECT_EQ(Audit(village_).size(), 2u);
}

TEST_F(DeskCryptoTest, DamagedValue_IsShownAsSuchAndRevealReportsDataLoss) {
  std::string id = File(village_, Filing(kId, kPhone));
  // An edit whose token was altered on the way (or forged): the right key id, a flipped byte.
  std::string token = *key_.Encrypt(kPhone, "applicant_phone");
  size_t at = token.size() - 5;
  token[at] = token[at] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(village_.replica
                  ->Append(id, kVillage, sync::kKindEdit, {{"fields", {{"applicant_phone", token}}}},
                           "clerk9", Role::kClerk)
                  .ok());
  auto d = village_.desk->Detail(clerk_, id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["case"]["fields"]["applicant_phone"], "(damaged: does not decrypt)");
  auto r = village_.desk->Reveal(clerk_, id, "applicant_phone");
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("does not authenticate"), std::string::npos) << r.status().message();
  Json audit = Audit(village_);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["outcome"], "error: data_loss");
}

TEST_F(DeskCryptoTest, ConcurrentEncryptedEdits_ConflictAndASettleMergesEverywhere) {
  TestDeskNode town = MakeNode("t210921100", kTownship, common::Tier::kTownship, &key_);
  std::string id = File(village_, Filing(kId, kPhone));
  Copy(village_, town, id);
  // Both nodes write the same new ID number concurrently. The tokens differ (fresh
  // nonces) but the merge never compares values: concurrent writes of a field are a
  // conflict whatever they hold, exactly as with plain values.
  std::string corrected = "11010519491231001";
  corrected += common::IdNumberCheckChar(corrected);
  ASSERT_TRUE(
      village_.replica
          ->Append(id, kVillage, sync::kKindEdit, EncryptedIdEdit(key_, corrected), "agent1", Role::kAgent)
          .ok());
  clock_.Advance(10);
  ASSERT_TRUE(
      town.replica
          ->Append(id, kVillage, sync::kKindEdit, EncryptedIdEdit(key_, corrected), "clerk2", Role::kClerk)
          .ok());
  Copy(village_, town, id);
  Copy(town, village_, id);
  for (TestDeskNode* n : {&village_, &town}) {
    auto d = n->desk->Detail(clerk_, id);
    ASSERT_TRUE(d.ok());
    const Json& conflicts = (*d)["case"]["conflicts"];
    ASSERT_EQ(conflicts.size(), 1u) << n->replica->node_id();
    EXPECT_EQ(conflicts[0]["field"], "applicant_id");
    ASSERT_EQ(conflicts[0]["candidates"].size(), 2u);
    for (const auto& c : conflicts[0]["candidates"]) EXPECT_EQ(c["value"], common::MaskIdNumber(corrected));
    EXPECT_EQ((*d)["case"]["fields"]["applicant_id"], common::MaskIdNumber(corrected));
    std::string dump = d->dump();
    EXPECT_EQ(dump.find(corrected), std::string::npos);
    EXPECT_EQ(dump.find("enc1."), std::string::npos);
    EXPECT_EQ((*n->desk->List(clerk_, CaseView::kConflicts, "", ""))["cases"].size(), 1u);
  }
  // The township clerk settles with the whole value; the edit is encrypted like any other.
  auto bad = town.desk->Settle(clerk_, id, {{"field", "applicant_id"}, {"value", "110105194912310021"}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);  // check digit
  EXPECT_EQ(bad.status().message().find("110105194912310021"), std::string::npos);
  auto settled = town.desk->Settle(clerk_, id, {{"field", "applicant_id"}, {"value", kId}});
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  EXPECT_TRUE((*settled)["case"]["conflicts"].empty());
  auto events = town.replica->store()->CaseEvents(id);
  ASSERT_TRUE(events.ok());
  const sync::Event& settle = events->back();
  ASSERT_EQ(settle.kind, sync::kKindEdit);
  EXPECT_TRUE(FieldCipher::IsEncrypted(settle.body["fields"].value("applicant_id", "")));
  EXPECT_EQ(settle.body["fields"]["applicant_id_hash"], *key_.SearchHash(kId));
  EXPECT_EQ(settle.body.dump().find(kId), std::string::npos);
  // Back at the village: one value, no conflict, identical state, found by the settled ID.
  Copy(town, village_, id);
  auto v = village_.replica->store()->GetCase(id);
  auto t = town.replica->store()->GetCase(id);
  ASSERT_TRUE(v.ok() && t.ok());
  EXPECT_EQ(v->digest, t->digest);
  EXPECT_TRUE(v->state["conflicts"].empty());
  EXPECT_EQ((*village_.desk->List(clerk_, CaseView::kQueue, kId, ""))["cases"].size(), 1u);
  EXPECT_TRUE((*village_.desk->List(clerk_, CaseView::kQueue, corrected, ""))["cases"].empty());
  auto shown = village_.desk->Reveal(clerk_, id, "applicant_id");
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_TRUE((*shown)["value"] == kId) << common::MaskIdNumber((*shown)["value"].get<std::string>());
}

// ---------------------------------------------------------------------------

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whole values from `values` found in the bytes of `files` (as masks, for messages).
std::vector<std::string> Leaks(const std::vector<fs::path>& files, const std::vector<std::string>& values) {
  std::string bytes;
  for (const auto& f : files)
    if (fs::exists(f)) bytes += ReadBytes(f);
  std::vector<std::string> found;
  for (const auto& v : values)
    if (bytes.find(v) != std::string::npos)
      found.push_back(v.size() == 18 ? common::MaskIdNumber(v) : common::MaskPhone(v));
  return found;
}

TEST_F(DeskCryptoTest, SqliteFiles_HoldNoWholeIdOrPhone) {
  std::string tmpl = (fs::temp_directory_path() / "daiban_desk_crypto_XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  fs::path dir = tmpl;
  fs::path db = dir / "node.db";
  std::vector<fs::path> files = {db, dir / "node.db-wal", dir / "node.db-journal"};
  testing::CaseGenerator gen(&master_->catalog, 42);
  std::vector<std::string> values;
  {
    TestDeskNode n = MakeNode("v" + kVillage, kVillage, common::Tier::kVillage, &key_, db.string());
    for (int i = 0; i < 25; ++i) {
      std::string idn = gen.IdNumber("210921");
      std::string phone = "13" + std::to_string(gen.Uniform(100000000, 999999999));
      values.push_back(idn);
      values.push_back(phone);
      std::string case_id = File(n, Filing(idn, phone, "居民" + std::to_string(i)));
      ASSERT_FALSE(case_id.empty());
      // The usual traffic on a case: materials, a comment, a search, a reveal, a receipt.
      ASSERT_TRUE(n.desk->AddMaterials(agent_, case_id, {{"add", {"居民身份证"}}}).ok());
      ASSERT_TRUE(n.desk->AddComment(agent_, case_id, {{"text", "已电话联系"}}).ok());
      ASSERT_EQ((*n.desk->List(agent_, CaseView::kQueue, idn, ""))["cases"].size(), 1u);
      ASSERT_TRUE(n.desk->Reveal(clerk_, case_id, "applicant_id").ok());
      ASSERT_TRUE(n.desk->Reveal(agent_, case_id, "applicant_phone").ok());
      ASSERT_TRUE(n.desk->ReceiptHtml(case_id).ok());
    }
    ASSERT_TRUE(fs::exists(db));
    ASSERT_GT(fs::file_size(dir / "node.db-wal"), 0u);  // recent pages are in the WAL
    EXPECT_EQ(Leaks(files, values), std::vector<std::string>()) << "while open (main file and WAL)";
  }
  EXPECT_EQ(Leaks(files, values), std::vector<std::string>()) << "after close (checkpointed)";

  // The same scan does find whole values where they are stored plain (a desk without a
  // key), so the silence above means something.
  fs::path plain_db = dir / "plain.db";
  {
    TestDeskNode n = MakeNode("v" + kVillage, kVillage, common::Tier::kVillage, nullptr, plain_db.string());
    File(n, Filing(kId, kPhone));
    EXPECT_EQ(Leaks({plain_db, dir / "plain.db-wal"}, {kId, kPhone}).size(), 2u);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}


// Corrections through the desk (POST /api/cases/{id}/fields): a village agent and the
// township clerk correct the same phone number while they cannot sync; after sync both
// see one conflict, and a settle at either ends it.
TEST_F(DeskCryptoTest, EditField_ChecksItsInputAndTwoConcurrentCorrectionsAreAConflict) {
  TestDeskNode town = MakeNode("t210921100", kTownship, common::Tier::kTownship, &key_);
  std::string id = File(village_, Filing(kId, kPhone));
  Copy(village_, town, id);
  int64_t events = *village_.replica->store()->EventCount();
  User agent{"agent1", Role::kAgent};
  EXPECT_EQ(village_.desk->EditField(agent, id, {{"field", "status"}, {"value", "completed"}}).status().code(),
            StatusCode::kInvalidArgument);
  auto bad_phone = village_.desk->EditField(agent, id, {{"field", "applicant_phone"}, {"value", "1380013800"}});
  EXPECT_EQ(bad_phone.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_phone.status().message().find("1380013800"), std::string::npos);
  EXPECT_EQ(village_.desk->EditField({"sup", Role::kSupervisor}, id, {{"field", "note"}, {"value", "x"}})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(village_.desk->EditField(agent, "nope", {{"field", "note"}, {"value", "x"}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(*village_.replica->store()->EventCount(), events);  // nothing written by any of these

  ASSERT_TRUE(village_.desk->EditField(agent, id, {{"field", "applicant_phone"}, {"value", "13900139000"}}).ok());
  clock_.Advance(10);
  auto by_clerk = town.desk->EditField(clerk_, id, {{"field", "applicant_phone"}, {"value", "13700137000"}});
  ASSERT_TRUE(by_clerk.ok()) << by_clerk.status().ToString();
  EXPECT_TRUE((*by_clerk)["case"]["conflicts"].empty());  // the township has not seen the village's yet
  Copy(village_, town, id);
  Copy(town, village_, id);
  for (TestDeskNode* n : {&village_, &town}) {
    auto d = n->desk->Detail(clerk_, id);
    ASSERT_TRUE(d.ok());
    ASSERT_EQ((*d)["case"]["conflicts"].size(), 1u) << n->replica->node_id();
    EXPECT_EQ((*d)["case"]["conflicts"][0]["field"], "applicant_phone");
    EXPECT_EQ(d->dump().find("13900139000"), std::string::npos);  // masked everywhere
  }
  // A later correction that has seen both sides settles it, like a settle does.
  auto settled = town.desk->EditField(clerk_, id, {{"field", "applicant_phone"}, {"value", "13900139000"}});
  ASSERT_TRUE(settled.ok());
  EXPECT_TRUE((*settled)["case"]["conflicts"].empty());
}

}  // namespace
}  // namespace daiban::node
