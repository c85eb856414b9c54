// Unit tests of node/: configuration, users and sessions, and the service desk in-process.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "node/desk.h"
#include "node/files.h"
#include "node/http_transport.h"
#include "node/node_server.h"
#include "node/options.h"
#include "node/sync_loop.h"
#include "common/personal_id.h"
#include "common/users.h"

namespace daiban::node {
namespace {

using common::Json;
using common::StatusCode;

TEST(OptionsTest, EveryShippedExampleParsesAndValidates) {
  for (const char* tier : {"village", "township", "county"}) {
    std::string path = std::string(DAIBAN_SOURCE_DIR) + "/config/node-" + tier + ".conf";
    auto text = ReadFile(path);
    ASSERT_TRUE(text.ok()) << path;
    auto o = OptionsFromConf(*text, path);
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    o->data_dir = "/tmp/x";
    EXPECT_TRUE(ValidateOptions(*o).ok()) << tier << ": " << ValidateOptions(*o).ToString();
    EXPECT_EQ(common::TierName(o->tier), tier);
    // Written and read back, the same settings.
    auto again = OptionsFromConf(OptionsToConf(*o), "again");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->node_id, o->node_id);
    EXPECT_EQ(again->parent_url, o->parent_url);
    EXPECT_EQ(again->sync_interval_s, o->sync_interval_s);
  }
}

TEST(OptionsTest, BadLinesNameTheLineAndTheKey) {
  auto r = OptionsFromConf("region = 210921100202\nnonsense\n", "node.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "node.conf line 2: expected 'key = value'");
  r = OptionsFromConf("# c\n\ncolour = blue\n", "node.conf");
  EXPECT_NE(r.status().message().find("node.conf line 3: colour: unknown setting"), std::string::npos)
      << r.status().message();
  r = OptionsFromConf("sync_interval_s = soon\n", "node.conf");
  EXPECT_NE(r.status().message().find("sync_interval_s: must be a whole number"), std::string::npos);
  r = OptionsFromConf("tier = city\n", "node.conf");
  EXPECT_NE(r.status().message().find("daiban-hub"), std::string::npos);
}

TEST(OptionsTest, ValidationSaysWhatIsWrong) {
  NodeOptions o;
  o.data_dir = "/tmp/x";
  o.region = "210921100000";  // a township code
  o.tier = common::Tier::kVillage;
  o.node_id = "v1";
  auto s = ValidateOptions(o);
  EXPECT_NE(s.message().find("needs a village code"), std::string::npos) << s.message();
  o.tier = common::Tier::kTownship;
  EXPECT_TRUE(ValidateOptions(o).ok());
  o.parent_url = "http://127.0.0.1:1";
  EXPECT_NE(ValidateOptions(o).message().find("give both or neither"), std::string::npos);
  o.parent_id = "c1";
  o.parent_url = "ftp://x";
  EXPECT_NE(ValidateOptions(o).message().find("http://"), std::string::npos);
  o.parent_url = "http://x:1";
  o.region = "2109211000";
  EXPECT_FALSE(ValidateOptions(o).ok());
  EXPECT_EQ(DefaultNodeId(common::Tier::kTownship, "210921100000"), "t210921100");
}

// An empty in-memory store of the village 他本扎兰村 (210921100202).
common::Result<std::unique_ptr<sync::EventStore>> OpenVillageStore() {
  sync::StoreOptions so;
  so.path = ":memory:";
  so.node_id = "v210921100202";
  so.region = "210921100202";
  so.tier = common::Tier::kVillage;
  return sync::EventStore::Open(so);
}

// A loopback socket bound to a free port: `listening` makes the kernel complete handshakes
// that nobody ever reads (a stalled parent); otherwise the socket is closed again, so the port
// refuses connections. Returns the port, and the socket in *fd (-1 once closed).
int LoopbackPort(bool listening, int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  if (*fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(*fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || (listening && listen(*fd, 4) != 0) ||
      getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(*fd);
    *fd = -1;
    return -1;
  }
  if (!listening) {
    close(*fd);
    *fd = -1;
  }
  return ntohs(addr.sin_port);
}

// A parent that takes the connection and never answers (a stalled or black-holed link)
// fails the exchange after sync_timeout_s instead of holding the sync loop forever.
TEST(HttpTransportTest, AStalledParentFailsAfterTheTimeoutNotNever) {
  int fd = -1;
  int port = LoopbackPort(/*listening=*/true, &fd);
  ASSERT_GT(port, 0);
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  HttpTransport transport(url, "v210921100202", "credential", nullptr, {}, /*timeout_s=*/1);
  auto started = std::chrono::steady_clock::now();
  auto r = transport.RoundTrip("DBZ1 request");
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_LT(waited, 30.0) << "the 1 s timeout was not applied (the default is 120 s)";
}

TEST(UsersTest, RepeatedFailuresLockTheNameForAWhile) {
  common::FakeClock clock(1737705600000);
  auto book = UserBook::Open(":memory:", &clock, 1);
  ASSERT_TRUE(book.ok());
  ASSERT_TRUE((*book)->Add("clerk1", common::Role::kClerk, "long-enough", false).ok());
  ASSERT_TRUE((*book)->Add("clerk2", common::Role::kClerk, "long-enough", false).ok());
  for (int i = 0; i < UserBook::kMaxFailures; ++i) {
    EXPECT_EQ((*book)->Login("clerk1", "guess" + std::to_string(i)).status().code(), StatusCode::kPermissionDenied);
  }
  // Locked now, even with the right password; another user is not affected.
  auto locked = (*book)->Login("clerk1", "long-enough");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(locked.status().message().find("try again in 15 minutes"), std::string::npos) << locked.status().message();
  EXPECT_TRUE((*book)->Login("clerk2", "long-enough").ok());
  clock.Advance(UserBook::kLockoutMs);
  EXPECT_TRUE((*book)->Login("clerk1", "long-enough").ok());
  // Fewer failures than the limit, then a success, start the count again.
  for (int i = 0; i < UserBook::kMaxFailures - 1; ++i) (void)(*book)->Login("clerk1", "wrong-one");
  EXPECT_TRUE((*book)->Login("clerk1", "long-enough").ok());
  EXPECT_EQ((*book)->Login("clerk1", "wrong-one").status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE((*book)->Login("clerk1", "long-enough").ok());
}

TEST(UsersTest, LoginSessionsAndUniformRefusal) {
  common::FakeClock clock(1737705600000);
  auto book = UserBook::Open(":memory:", &clock, 1);
  ASSERT_TRUE(book.ok());
  ASSERT_TRUE((*book)->Add("agent1", common::Role::kAgent, "long-enough", false).ok());
  EXPECT_EQ((*book)->Add("agent1", common::Role::kClerk, "long-enough", false).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ((*book)->Add("bad name!", common::Role::kAgent, "long-enough", false).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*book)->Add("short", common::Role::kAgent, "short", false).code(), StatusCode::kInvalidArgument);
  auto wrong = (*book)->Login("agent1", "not-the-password");
  auto unknown = (*book)->Login("nobody", "long-enough");
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.status().message(), unknown.status().message());  // no hint which was wrong
  auto token = (*book)->Login("agent1", "long-enough");
  ASSERT_TRUE(token.ok());
  auto user = (*book)->Session(*token);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->role, common::Role::kAgent);
  clock.Advance(3600 * 1000);  // the session lasts one hour
  EXPECT_FALSE((*book)->Session(*token).ok());
  token = (*book)->Login("agent1", "long-enough");
  ASSERT_TRUE(token.ok());
  // Changing the password ends the user's sessions.
  ASSERT_TRUE((*book)->Add("agent1", common::Role::kAgent, "another-password", true).ok());
  EXPECT_FALSE((*book)->Session(*token).ok());
}

TEST(SyncLoopTest, LocalWorkDoesNotRetryARefusingParentOnEveryWrite) {
  // A port nobody listens on: every try is refused at once.
  int fd = -1;
  int port = LoopbackPort(/*listening=*/false, &fd);
  ASSERT_GT(port, 0);
  NodeOptions o;
  o.parent_url = "http://127.0.0.1:" + std::to_string(port);
  o.parent_id = "t210921100";
  auto store = OpenVillageStore();
  ASSERT_TRUE(store.ok());
  common::FakeClock clock(1737705600000);
  sync::Replica replica(std::move(store).value(), &clock);
  std::mutex store_mu;
  SyncLoop loop(o, &replica, &store_mu);
  loop.Start();
  // An agent filing a case every 50 ms for 2 s: each filing triggers a sync.
  for (int i = 0; i < 40; ++i) {
    loop.Trigger();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Json status = loop.StatusJson();
  int64_t tries = status["failed_tries"].get<int64_t>();
  EXPECT_GE(tries, 1) << status.dump();
  // The first try, then backoffs of 0.5-1 s and 1-2 s: at most three tries in 2 s, however
  // many filings (one try per trigger would be about forty).
  EXPECT_LE(tries, 4) << status.dump();
  EXPECT_FALSE(status["last_error"].get<std::string>().empty());
  // A person's "sync now" is tried at once. Right after a failed try (the third or later),
  // the loop's own next try is at least 2 s away; the person's must come well before.
  auto failed = [&] { return loop.StatusJson()["failed_tries"].get<int64_t>(); };
  int64_t seen = failed();
  for (int i = 0; i < 300 && (failed() == seen || failed() < 3); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  seen = failed();
  ASSERT_GE(seen, 3);
  auto asked = std::chrono::steady_clock::now();
  loop.Trigger(/*by_person=*/true);
  for (int i = 0; i < 250 && failed() == seen; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
  EXPECT_GT(failed(), seen) << "the person's sync now was not tried";
  EXPECT_LT(waited, 1.5) << "the person's sync now waited for the backoff";
  loop.Stop();
}

class DeskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LoadMasterData(std::string(DAIBAN_SOURCE_DIR) + "/config", "210921100202");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    master_ = std::make_unique<MasterData>(std::move(m).value());
    auto store = OpenVillageStore();
    ASSERT_TRUE(store.ok());
    replica_ = std::make_unique<sync::Replica>(std::move(store).value(), &clock_);
    desk_ = std::make_unique<Desk>(replica_.get(), &master_->catalog, &master_->calendar, &master_->regions);
  }
  Json Good() {
    return {{"item", "MZ-003"}, {"applicant_name", "张三"}, {"applicant_id", "11010519491231002x"},
            {"applicant_phone", "13800138000"}, {"materials", {"申请书"}}};
  }
  common::FakeClock clock_{1737705600000};
  std::unique_ptr<MasterData> master_;
  std::unique_ptr<sync::Replica> replica_;
  std::unique_ptr<Desk> desk_;
  User agent_{"agent1", common::Role::kAgent};
};

TEST_F(DeskTest, FilingChecksEveryFieldBeforeWritingAnything) {
  struct Case {
    const char* key;
    Json value;
    const char* message_start;
  } bad[] = {{"item", "XX-999", "item: "},
             {"item", nullptr, "item: required"},
             {"applicant_name", "   ", "applicant_name: required"},
             {"applicant_name", std::string(200, 'a'), "applicant_name: too long"},
             {"applicant_id", "110105194912310021", "applicant_id: "},
             {"applicant_id", 12345, "applicant_id: must be text"},
             {"applicant_phone", "1380013800", "applicant_phone: "},
             {"materials", "申请书", "materials: must be a list"},
             {"materials", Json::array({"护照"}), "materials: '护照' is not a required material"},
             {"submit", 1, "submit: must be true or false"}};
  for (const auto& c : bad) {
    Json in = Good();
    if (c.value.is_null()) in.erase(c.key);
    else in[c.key] = c.value;
    auto r = desk_->FileCase(agent_, in);
    ASSERT_FALSE(r.ok()) << c.key;
    EXPECT_EQ(r.status().message().rfind(c.message_start, 0), 0u) << r.status().message();
    EXPECT_EQ(r.status().message().find("110105194912310021"), std::string::npos);
  }
  EXPECT_EQ(*replica_->store()->EventCount(), 0);
  // A well-formed ID number of someone born in the future (the store's clock is in 2025).
  std::string future = "11010520990101001";
  future += common::IdNumberCheckChar(future);
  Json born_later = Good();
  born_later["applicant_id"] = future;
  auto r0 = desk_->FileCase(agent_, born_later);
  ASSERT_FALSE(r0.ok());
  EXPECT_EQ(r0.status().message().rfind("applicant_id: ", 0), 0u) << r0.status().message();
  // An item a village agent may not file.
  const common::ServiceItem* counter_only = nullptr;
  for (const auto& i : master_->catalog.items())
    if (!i.proxy_allowed) counter_only = &i;
  ASSERT_NE(counter_only, nullptr);
  Json in = Good();
  in["item"] = counter_only->code;
  auto r = desk_->FileCase(agent_, in);
  EXPECT_NE(r.status().message().find("may not be filed by a village agent"), std::string::npos);
  // A supervisor does not file.
  EXPECT_EQ(desk_->FileCase({"s", common::Role::kSupervisor}, Good()).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(*replica_->store()->EventCount(), 0);
}

TEST_F(DeskTest, AFiledCaseListsMaskedAndIsFoundByNameIdOrCaseId) {
  auto r = desk_->FileCase(agent_, Good());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json c = (*r)["case"];
  EXPECT_EQ(c["status"], "submitted");
  EXPECT_EQ(c["fields"]["applicant_id"], "11010519491231002X");  // lower-case x normalised
  EXPECT_EQ(c["missing"].size(), 2u);                              // 居民身份证, 困难情况说明
  std::string id = c["id"];
  for (std::string q : {std::string("张"), std::string("11010519491231002x"), id}) {
    auto l = desk_->List(agent_, CaseView::kQueue, q, "");
    ASSERT_TRUE(l.ok());
    ASSERT_EQ((*l)["cases"].size(), 1u) << q;
    EXPECT_EQ((*l)["cases"][0]["applicant_id"], "110105********002X");
  }
  EXPECT_EQ((*desk_->List(agent_, CaseView::kQueue, "李", ""))["cases"].size(), 0u);
  EXPECT_EQ((*desk_->List(agent_, CaseView::kQueue, "", "accepted"))["cases"].size(), 0u);
  EXPECT_FALSE(desk_->List(agent_, CaseView::kQueue, "", "nonsense").ok());
  // A supervisor sees the detail masked.
  auto d = desk_->Detail({"s", common::Role::kSupervisor}, id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["case"]["fields"]["applicant_id"], "110105********002X");
  EXPECT_TRUE((*d)["case"]["allowed"].empty());
  // Receipt: masked, escaped, with the materials received.
  auto html = desk_->ReceiptHtml(id);
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("申请书"), std::string::npos);
  EXPECT_EQ(html->find("11010519491231002X"), std::string::npos);
}

TEST_F(DeskTest, StepsCheckTheirFieldsAndTheStateMachine) {
  auto r = desk_->FileCase(agent_, Good());
  ASSERT_TRUE(r.ok());
  std::string id = (*r)["case"]["id"];
  int64_t events = *replica_->store()->EventCount();
  auto s = desk_->TakeStep(agent_, id, {{"action", "fly"}});
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  s = desk_->TakeStep(agent_, id, {{"action", "withdraw"}});
  EXPECT_EQ(s.status().message(), "reason: required");
  s = desk_->TakeStep(agent_, id, {{"action", "accept"}});  // the township accepts, not the village
  EXPECT_EQ(s.status().code(), StatusCode::kPermissionDenied) << s.status().ToString();
  s = desk_->TakeStep(agent_, id, {{"action", "evaluate"}, {"evaluation", 9}});
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(desk_->AddMaterials(agent_, id, {{"add", {"护照"}}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(desk_->TakeStep(agent_, "nope", {{"action", "withdraw"}, {"reason", "x"}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(desk_->Settle({"c", common::Role::kClerk}, id, {{"field", "note"}, {"value", "x"}}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(*replica_->store()->EventCount(), events);  // nothing written by any of these
  auto m = desk_->AddMaterials(agent_, id, {{"add", {"居民身份证"}}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["case"]["missing"], Json({"困难情况说明"}));
  auto w = desk_->TakeStep(agent_, id, {{"action", "withdraw"}, {"reason", "居民不再需要"}});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)["case"]["status"], "withdrawn");
}

}  // namespace
}  // namespace daiban::node
