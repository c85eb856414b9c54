// The field-node scenario against real processes on loopback: a village agent files a case
// while the township is down, the link comes back, the township asks for a supplement, the
// village supplies it, the township accepts, decides and completes, and the resident's
// evaluation is recorded at the village. Also: bad input over HTTP, forged sync requests.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <thread>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/field_crypto.h"
#include "common/pki.h"
#include "common/sqlite.h"
#include "common/tls.h"
#include "sync/protocol.h"
#include "tests/integration/process_harness.h"

namespace daiban::testing {
namespace {

using common::Json;
namespace fs = std::filesystem;

constexpr const char* kPassword = "secret-pass-1";

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CityFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("daiban_it_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = std::string(DAIBAN_SOURCE_DIR) + "/config";
    hub_port_ = FreePort();
    hub_sync_port_ = FreePort();
    town_port_ = FreePort();
    town_sync_port_ = FreePort();
    village_port_ = FreePort();
    std::string hub = (dir_ / "hub").string();
    // The city's certificates, made by the real ops/pki.sh.
    std::string pki = (dir_ / "pki").string(), script = std::string(DAIBAN_SOURCE_DIR) + "/ops/pki.sh";
    ASSERT_EQ(RunCommand({script, "ca", pki}), 0);
    ASSERT_EQ(RunCommand({script, "hub", pki, "--region", "210900000000", "--host", "127.0.0.1"}), 0);
    ASSERT_EQ(RunCommand({DAIBAN_HUB_BIN, "init", "--data", hub, "--region", "210900000000", "--listen",
                          Addr(hub_port_), "--sync-listen", Addr(hub_sync_port_), "--pki", pki, "--config", config_,
                          "--cert-validity-s", HubCertValidity()}),
              0);
    std::string town_code = Enrol("210921100000", "township"), village_code = Enrol("210921100202", "village");
    hub_ = Start({DAIBAN_HUB_BIN, "serve", "--data", hub}, "hub", hub_port_);
    InitNode("town", "210921100000", "township", town_port_, "https://" + Addr(hub_sync_port_), "hub", town_code,
             "clerk1", "clerk", Addr(town_sync_port_));
    InitNode("village", "210921100202", "village", village_port_, "https://" + Addr(town_sync_port_), "t210921100",
             village_code, "agent1", "agent");
  }
  // How long the hub's node certificates last (seconds); a test may shorten it.
  virtual std::string HubCertValidity() const { return "2592000"; }
  // A one-time enrolment code from the hub.
  std::string Enrol(const std::string& region, const std::string& tier) {
    std::string code;
    EXPECT_EQ(RunCommand({DAIBAN_HUB_BIN, "enrol", "--data", (dir_ / "hub").string(), "--region", region, "--tier", tier},
                         &code),
              0);
    Trim(&code);
    return code;
  }
  void TearDown() override {
    procs_.clear();
    // No whole ID number in anything the processes logged or the test exported.
    std::string out;
    int scan = RunCommand({DAIBAN_NODE_BIN, "scan-pii", dir_.string()}, &out);
    EXPECT_EQ(scan, 0) << "whole ID numbers in logs or exports (shown masked):\n" << out;
    if (!HasFailure()) fs::remove_all(dir_);
  }

  static std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }
  static void Trim(std::string* s) {
    while (!s->empty() && (s->back() == '\n' || s->back() == '\r')) s->pop_back();
  }
  void InitNode(const std::string& name, const std::string& region, const std::string& tier, int port,
                const std::string& parent_url, const std::string& parent_id, const std::string& code,
                const std::string& user, const std::string& role, const std::string& sync_listen = "") {
    std::string data = (dir_ / name).string();
    std::vector<std::string> argv = {DAIBAN_NODE_BIN, "init", "--data", data, "--region", region, "--tier", tier,
                                     "--listen", Addr(port), "--parent-url", parent_url, "--parent-id", parent_id,
                                     "--enrol-code", code, "--hub-url", "https://" + Addr(hub_sync_port_), "--ca",
                                     (dir_ / "pki" / "ca.crt").string(), "--config", config_, "--sync-interval-s", "1",
                                     "--backoff-max-s", "2"};
    if (!sync_listen.empty()) {
      argv.push_back("--sync-listen");
      argv.push_back(sync_listen);
    }
    ASSERT_EQ(RunCommand(argv), 0);
    ASSERT_EQ(RunCommand({DAIBAN_NODE_BIN, "user", "add", "--data", data, "--name", user, "--role", role}, nullptr,
                         {std::string("DAIBAN_PASSWORD=") + kPassword}),
              0);
  }
  Process* Start(std::vector<std::string> argv, const std::string& name, int port) {
    procs_.push_back(std::make_unique<Process>(std::move(argv), (dir_ / (name + ".log")).string()));
    EXPECT_TRUE(procs_.back()->Start());
    EXPECT_TRUE(WaitHealthy(port)) << name << " did not start; see " << (dir_ / (name + ".log"));
    return procs_.back().get();
  }
  Process* StartNode(const std::string& name, int port) {
    return Start({DAIBAN_NODE_BIN, "serve", "--data", (dir_ / name).string()}, name, port);
  }
  // Syncs a node now (the "sync now" button, waiting for the result).
  Json SyncNow(ApiClient& api) {
    int status = 0;
    Json r = api.Post("/api/sync?wait=1", Json::object(), &status);
    EXPECT_EQ(status, 200) << r.dump();
    return r;
  }
  Json Step(ApiClient& api, const std::string& id, Json body) {
    int status = 0;
    Json r = api.Post("/api/cases/" + id + "/steps", body, &status);
    EXPECT_EQ(status, 200) << body.dump() << " -> " << r.dump();
    return r;
  }

  fs::path dir_;
  std::string config_;
  int hub_port_ = 0, hub_sync_port_ = 0, town_port_ = 0, town_sync_port_ = 0, village_port_ = 0;
  Process* hub_ = nullptr;
  std::vector<std::unique_ptr<Process>> procs_;
};

TEST_F(CityFixture, OfflineFilingSupplementAcceptCompleteEvaluate) {
  // The township is down: the village works alone.
  StartNode("village", village_port_);
  ApiClient village(village_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  int status = 0;
  Json filed = village.Post("/api/cases", {{"item", "MZ-003"}, {"applicant_name", "王芳"},
                                           {"applicant_id", "11010519491231002X"}, {"applicant_phone", "13800138000"},
                                           {"materials", {"申请书"}}, {"note", "腿脚不便，代办"}}, &status);
  ASSERT_EQ(status, 201) << filed.dump();
  std::string id = filed["case"]["id"];
  EXPECT_EQ(filed["case"]["status"], "submitted");
  EXPECT_EQ(filed["case"]["sync"], "local");
  Json failed = village.Post("/api/sync?wait=1", Json::object(), &status);
  EXPECT_EQ(status, 503) << failed.dump();  // parent unreachable: a plain error, nothing lost

  // The link comes back.
  StartNode("town", town_port_);
  SyncNow(village);
  ApiClient town(town_port_);
  ASSERT_TRUE(town.Login("clerk1", kPassword));
  Json inbox = town.Get("/api/cases?view=inbox");
  ASSERT_EQ(inbox["cases"].size(), 1u) << inbox.dump();
  EXPECT_EQ(inbox["cases"][0]["id"], id);
  EXPECT_EQ(inbox["cases"][0]["applicant_id"], "110105********002X");

  // One-time notice of what is missing.
  Json asked = Step(town, id, {{"action", "request_supplement"}, {"missing", {"居民身份证", "困难情况说明"}},
                               {"reason", "请补交身份证复印件和困难情况说明"}});
  EXPECT_EQ(asked["case"]["status"], "supplement_requested");
  SyncNow(village);
  Json seen = village.Get("/api/cases/" + id);
  EXPECT_EQ(seen["case"]["status"], "supplement_requested");
  EXPECT_EQ(seen["case"]["supplement_missing"], Json({"居民身份证", "困难情况说明"}));

  // The agent collects the materials and supplements.
  village.Post("/api/cases/" + id + "/materials", {{"add", {"居民身份证", "困难情况说明"}}}, &status);
  EXPECT_EQ(status, 200);
  Step(village, id, {{"action", "supplement"}});
  SyncNow(village);

  Step(town, id, {{"action", "accept"}});
  Json accepted = town.Get("/api/cases/" + id);
  EXPECT_FALSE(accepted["case"]["due_date"].get<std::string>().empty());
  Step(town, id, {{"action", "decide"}, {"approved", true}, {"reason", "符合临时救助条件"}});
  Step(town, id, {{"action", "complete"}});
  SyncNow(town);  // up to the hub
  SyncNow(village);
  Json done = village.Get("/api/cases/" + id);
  EXPECT_EQ(done["case"]["status"], "completed");
  EXPECT_EQ(done["case"]["missing"].size(), 0u);
  Json evaluated = Step(village, id, {{"action", "evaluate"}, {"evaluation", 5}});
  EXPECT_EQ(evaluated["case"]["status"], "evaluated");
  SyncNow(village);
  SyncNow(town);
  EXPECT_EQ(town.Get("/api/cases/" + id)["case"]["status"], "evaluated");
  SyncNow(village);  // learns that the hub holds everything
  // Every event made at the village reached the city hub.
  EXPECT_EQ(village.Get("/api/cases/" + id)["case"]["sync"], "hub");
  Json st = village.Get("/api/status");
  EXPECT_EQ(st["pending"], 0) << st.dump();
}

TEST_F(CityFixture, TownshipServesItsVillagesWhileTheHubIsDownAndRelaysLater) {
  hub_->Stop();
  StartNode("town", town_port_);
  StartNode("village", village_port_);
  ApiClient village(village_port_), town(town_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  ASSERT_TRUE(town.Login("clerk1", kPassword));
  int status = 0;
  Json filed = village.Post("/api/cases", {{"item", "MZ-001"}, {"applicant_name", "陈红"},
                                           {"applicant_id", "11010519491231002X"}, {"applicant_phone", "13800138000"}},
                            &status);
  ASSERT_EQ(status, 201) << filed.dump();
  std::string id = filed["case"]["id"];
  SyncNow(village);  // the township answers though its own parent is down
  EXPECT_EQ(village.Get("/api/cases/" + id)["case"]["sync"], "parent");
  Json up = town.Post("/api/sync?wait=1", Json::object(), &status);
  EXPECT_EQ(status, 503) << up.dump();
  Json st = town.Get("/api/status");
  EXPECT_GT(st["pending"].get<int64_t>(), 0);
  EXPECT_NE(st["sync"]["last_error"].get<std::string>().find("unavailable"), std::string::npos) << st.dump();
  // The hub comes back: the township relays, and the village learns its case reached the city.
  hub_ = Start({DAIBAN_HUB_BIN, "serve", "--data", (dir_ / "hub").string()}, "hub2", hub_port_);
  SyncNow(town);
  SyncNow(village);
  EXPECT_EQ(village.Get("/api/cases/" + id)["case"]["sync"], "hub");
  EXPECT_EQ(town.Get("/api/status")["pending"], 0);
}

// Each sync resumes the TLS session of the one before (neither certificate is sent again:
// most of an idle sync's bytes), at the township and at the hub.
TEST_F(CityFixture, EachSyncResumesTheTlsSessionOfTheOneBefore) {
  StartNode("town", town_port_);
  StartNode("village", village_port_);
  ApiClient village(village_port_), town(town_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  ASSERT_TRUE(town.Login("clerk1", kPassword));
  for (ApiClient* node : {&village, &town}) {
    SyncNow(*node);
    Json r = SyncNow(*node);
    ASSERT_TRUE(r.contains("tls")) << r.dump();
    EXPECT_EQ(r["tls"]["full"], 0) << r.dump();
    EXPECT_EQ(r["tls"]["resumed"], r["rounds"]) << r.dump();
    EXPECT_EQ(node->Get("/api/status")["sync"]["last_report"].value("tls", Json()).is_object(), true);
  }
}

TEST_F(CityFixture, TheHubCountsWhatArrivesAndExportsCsv) {
  StartNode("town", town_port_);
  StartNode("village", village_port_);
  ASSERT_EQ(RunCommand({DAIBAN_HUB_BIN, "user", "add", "--data", (dir_ / "hub").string(), "--name", "sup1", "--role",
                        "supervisor"}, nullptr, {std::string("DAIBAN_PASSWORD=") + kPassword}), 0);
  ApiClient village(village_port_), town(town_port_), hub(hub_port_);
  int status = 0;
  hub.Get("/api/stats", &status);
  EXPECT_EQ(status, 401);
  ASSERT_TRUE(hub.Login("sup1", kPassword));
  ASSERT_TRUE(village.Login("agent1", kPassword));
  ASSERT_TRUE(town.Login("clerk1", kPassword));
  Json filed = village.Post("/api/cases", {{"item", "MZ-003"}, {"applicant_name", "周敏"},
                                           {"applicant_id", "11010519491231002X"}, {"applicant_phone", "13800138000"}},
                            &status);
  ASSERT_EQ(status, 201);
  std::string id = filed["case"]["id"];
  SyncNow(village);
  Step(town, id, {{"action", "accept"}});
  SyncNow(town);
  std::string year = filed["case"]["filed"].get<std::string>().substr(0, 4);
  std::string period = "&from=" + year + "-01-01&to=" + year + "-12-31";
  Json city = hub.Get("/api/stats?region=210900000000" + period, &status);
  ASSERT_EQ(status, 200) << city.dump();
  EXPECT_EQ(city["received"], 1);
  EXPECT_EQ(city["accepted"], 1);
  EXPECT_EQ(city["proxy"], 1);
  EXPECT_EQ(city["name"], "阜新市");
  Json kids = hub.Get("/api/stats/children?region=210900000000" + period);
  int64_t received = 0;
  for (const auto& r : kids["rows"]) {
    received += r["received"].get<int64_t>();
    if (r["region"] == "210921000000") {
      EXPECT_EQ(r["received"], 1);
    }
  }
  EXPECT_EQ(received, 1);
  Json village_stats = hub.Get("/api/stats?region=210921100202&agent=agent1@v210921100202" + period);
  EXPECT_EQ(village_stats["proxy"], 1) << village_stats.dump();
  Json nodes = hub.Get("/api/nodes");
  ASSERT_EQ(nodes["nodes"].size(), 2u) << nodes.dump();
  for (const auto& n : nodes["nodes"]) {
    // The village syncs with the township only; the township reports when it heard from it.
    EXPECT_EQ(n["freshness"], "green") << n.dump();
    EXPECT_GT(n["last_seen"].get<int64_t>(), 0) << n.dump();
    EXPECT_EQ(n["software"], "0.1.0") << n.dump();
    EXPECT_EQ(n["protocol"], 1) << n.dump();
  }
  // CSV: a byte-order mark, a header, one row per child region.
  auto csv = hub.raw().Get("/api/stats/children?region=210900000000&format=csv" + period,
                           httplib::Headers{{"Authorization", "Bearer " + hub.token()}});
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->status, 200);
  EXPECT_EQ(csv->body.rfind("\xEF\xBB\xBFregion,name,level", 0), 0u) << csv->body.substr(0, 80);
  EXPECT_NE(csv->body.find("210921000000,阜新蒙古族自治县,county"), std::string::npos) << csv->body.substr(0, 400);
  fs::create_directories(dir_ / "exports");  // scanned for whole ID numbers in TearDown
  std::ofstream((dir_ / "exports" / "children.csv").string()) << csv->body;
  auto anonymous = hub.raw().Get("/api/stats/children?format=csv");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  Json bad = hub.Get("/api/stats?region=219900000000", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(bad["error"]["field"], "region");
  hub.Get("/api/stats?region=210900000000&item=XX-999", &status);
  EXPECT_EQ(status, 400);
  // The ID number never appears whole at the hub's API.
  EXPECT_EQ(hub.Get("/api/warnings").dump().find("11010519491231002X"), std::string::npos);
}

TEST_F(CityFixture, PublishedMasterDataReachesNodesWithoutRestartAndBadFilesChangeNothing) {
  StartNode("town", town_port_);
  std::string hub_data = (dir_ / "hub").string();
  ASSERT_EQ(RunCommand({DAIBAN_HUB_BIN, "user", "add", "--data", hub_data, "--name", "admin1", "--role", "admin"},
                       nullptr, {std::string("DAIBAN_PASSWORD=") + kPassword}), 0);
  ApiClient hub(hub_port_), town(town_port_);
  ASSERT_TRUE(hub.Login("admin1", kPassword));
  ASSERT_TRUE(town.Login("clerk1", kPassword));
  std::string catalog = *ReadText(config_ + "/catalog/items.csv");
  auto post = [&](const std::string& kind, const std::string& text) {
    return hub.raw().Post("/api/master/" + kind, {{"Authorization", "Bearer " + hub.token()}}, text, "text/csv");
  };
  // A malformed catalog row: refused whole, naming the line; nothing published.
  auto bad = post("catalog", catalog + "ZZ-001,新事项,民政局,承诺件,5,9,yes,township,township,0,申请书\n");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("line 32"), std::string::npos) << bad->body;
  // A calendar with a date twice.
  std::string calendar = *ReadText(config_ + "/calendar/cn-holidays-2025-2026.csv");
  std::string first_row = calendar.substr(calendar.find('\n') + 1, calendar.find('\n', calendar.find('\n') + 1) -
                                                                     calendar.find('\n'));
  bad = post("calendar", calendar + first_row);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("twice"), std::string::npos) << bad->body;
  // A node enrolling for a region that does not exist.
  std::string out;
  EXPECT_EQ(RunCommand({DAIBAN_HUB_BIN, "enrol", "--data", hub_data, "--region", "210921199999", "--tier", "village"},
                       &out), 2);
  EXPECT_TRUE(out.empty());  // no code printed
  // A village enrolled with a township's code (its every event would be refused).
  EXPECT_EQ(RunCommand({DAIBAN_HUB_BIN, "enrol", "--data", hub_data, "--region", "210921100000", "--tier", "village"},
                       &out),
            2);
  EXPECT_TRUE(out.empty());
  // A good catalog with one more item: the township offers it after its next sync.
  auto good = post("catalog", catalog + "ZZ-001,新增测试事项,民政局,承诺件,9,5,yes,township,township,0,申请书\n");
  ASSERT_TRUE(good);
  ASSERT_EQ(good->status, 200) << good->body;
  EXPECT_NE(good->body.find("\"version\":1"), std::string::npos) << good->body;
  auto has_item = [&] {
    Json catalog_now = town.Get("/api/catalog");  // kept alive for the loop
    for (const auto& i : catalog_now["items"])
      if (i["code"] == "ZZ-001") return true;
    return false;
  };
  EXPECT_FALSE(has_item());
  SyncNow(town);
  EXPECT_TRUE(has_item());
  EXPECT_EQ(town.Get("/api/status")["catalog_version"], 1);
  // A supervisor may not publish.
  ASSERT_EQ(RunCommand({DAIBAN_HUB_BIN, "user", "add", "--data", hub_data, "--name", "sup2", "--role", "supervisor"},
                       nullptr, {std::string("DAIBAN_PASSWORD=") + kPassword}), 0);
  ApiClient sup(hub_port_);
  ASSERT_TRUE(sup.Login("sup2", kPassword));
  auto denied = sup.raw().Post("/api/master/catalog", {{"Authorization", "Bearer " + sup.token()}}, catalog, "text/csv");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  // A retired township is refused at the hub; retiring an unknown node is an error.
  EXPECT_EQ(RunCommand({DAIBAN_HUB_BIN, "retire", "--data", hub_data, "--node-id", "t210921100"}), 0);
  EXPECT_EQ(RunCommand({DAIBAN_HUB_BIN, "retire", "--data", hub_data, "--node-id", "t999"}), 1);
  int status = 0;
  // A sync on the session resumed from before is refused with the reason (the hub checks
  // every request, docs/SECURITY.md), unless a background sync met that refusal first. Then
  // the session is forgotten, and the full handshake refuses the certificate: the link is
  // down for it.
  Json refused = town.Post("/api/sync?wait=1", Json::object(), &status);
  if (status == 403) {
    EXPECT_NE(refused.dump().find("has been retired"), std::string::npos) << refused.dump();
    refused = town.Post("/api/sync?wait=1", Json::object(), &status);
  }
  EXPECT_EQ(status, 503) << refused.dump();
  EXPECT_NE(refused.dump().find("cannot reach"), std::string::npos) << refused.dump();
}

TEST_F(CityFixture, BadInputOverHttpIsAFieldErrorAndChangesNothing) {
  StartNode("town", town_port_);
  ApiClient town(town_port_);
  int status = 0;
  town.Get("/api/cases", &status);
  EXPECT_EQ(status, 401);
  EXPECT_FALSE(town.Login("clerk1", "wrong-password"));
  ASSERT_TRUE(town.Login("clerk1", kPassword));
  Json good = {{"item", "MZ-003"}, {"applicant_name", "赵六"}, {"applicant_id", "11010519491231002X"},
               {"applicant_phone", "13800138000"}};
  struct Bad {
    const char* key;
    Json value;
    const char* field;
  } bads[] = {{"applicant_id", "110105194912310021", "applicant_id"},
              {"applicant_id", "11010519491331002X", "applicant_id"},
              {"applicant_phone", "12345", "applicant_phone"},
              {"item", "XX-999", "item"},
              {"applicant_name", "", "applicant_name"},
              {"materials", Json::array({"不存在的材料"}), "materials"},
              {"submit", "yes", "submit"}};
  for (const auto& b : bads) {
    Json body = good;
    body[b.key] = b.value;
    Json r = town.Post("/api/cases", body, &status);
    EXPECT_EQ(status, 400) << b.key;
    EXPECT_EQ(r["error"].value("field", ""), b.field) << r.dump();
    // Never the whole ID number in an error.
    EXPECT_EQ(r.dump().find("110105194912310021"), std::string::npos);
  }
  auto raw = town.raw().Post("/api/cases", httplib::Headers{{"Cookie", ""}, {"X-Daiban-Request", "1"}}, "{not json",
                             "application/json");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 401);  // not signed in comes first
  EXPECT_EQ(town.Get("/api/cases")["cases"].size(), 0u);

  // CSRF: a write carried by the session cookie alone (what a forged form on another site
  // would send) is refused; Daiban's own pages add X-Daiban-Request.
  httplib::Headers cookie_only = {{"Cookie", "daiban_session=" + town.token()}};
  auto forged = town.raw().Post("/api/cases", cookie_only, good.dump(), "application/json");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);
  EXPECT_NE(forged->body.find("csrf"), std::string::npos) << forged->body;
  EXPECT_EQ(town.Get("/api/cases")["cases"].size(), 0u);
  cookie_only.emplace("X-Daiban-Request", "1");
  auto own_page = town.raw().Post("/api/comments-nowhere", cookie_only, "{}", "application/json");
  ASSERT_TRUE(own_page);
  EXPECT_EQ(own_page->status, 404);  // past the CSRF check
  // An invalid transition says what is allowed.
  Json filed = town.Post("/api/cases", good, &status);
  ASSERT_EQ(status, 201);
  std::string id = filed["case"]["id"];
  Json r = town.Post("/api/cases/" + id + "/steps", {{"action", "complete"}}, &status);
  EXPECT_EQ(status, 409);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("allowed from here"), std::string::npos) << r.dump();
  r = town.Post("/api/cases/" + id + "/steps", {{"action", "reject"}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["error"]["field"], "reason");
  EXPECT_EQ(town.Get("/api/cases/" + id)["case"]["status"], "submitted");
  town.Get("/api/cases/no-such-case", &status);
  EXPECT_EQ(status, 404);
}

// Writes a key and a certificate for the village, signed by the CA in `ca_dir`, valid
// from not_before to not_after, as dir/<stem>.key/.crt; returns the files for a client.
common::TlsFiles IssueVillageCert(const fs::path& ca_dir, const fs::path& dir, const std::string& stem,
                                  int64_t not_before, int64_t not_after, const std::string& region = "210921100202") {
  auto ca = common::CertAuthority::FromPem(*ReadText((ca_dir / "ca.crt").string()), *ReadText((ca_dir / "ca.key").string()));
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  auto key = common::NewPrivateKeyPem();
  const std::string node = "v" + region;
  auto csr = common::MakeCsrPem(*key, node, {});
  auto cert = ca->Issue(*csr, {node, region, common::Tier::kVillage, 0, 1000}, not_before, not_after);
  EXPECT_TRUE(cert.ok()) << cert.status().ToString();
  std::ofstream((dir / (stem + ".key")).string()) << *key;
  std::ofstream((dir / (stem + ".crt")).string()) << *cert;
  return {(dir / (stem + ".crt")).string(), (dir / (stem + ".key")).string(), ""};
}

int64_t NowS() { return static_cast<int64_t>(std::time(nullptr)); }

// A refused TLS connection must fail the request, not kill the test with SIGPIPE.
const bool kIgnoreSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

TEST_F(CityFixture, CertificatesAreCheckedAtEveryHandshake) {
  StartNode("town", town_port_);
  const std::string ca = (dir_ / "pki" / "ca.crt").string();
  const std::string town_sync = "https://" + Addr(town_sync_port_), hub_sync = "https://" + Addr(hub_sync_port_);
  auto post = [&](const std::string& url, common::TlsFiles files) {
    files.ca = ca;
    auto client = common::MakeTlsClient(url, files);
    client->set_connection_timeout(5, 0);
    return client->Post("/sync", "DBZ1", "application/octet-stream");
  };
  const fs::path village_tls = dir_ / "village" / "tls";
  const common::TlsFiles village{(village_tls / "node.crt").string(), (village_tls / "node.key").string(), ""};

  // The village's own certificate: the handshake passes and a truncated frame is a
  // protocol error, at the township and at the hub.
  auto r = post(town_sync, village);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 400);
  r = post(hub_sync, village);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 400);
  // No certificate: the township refuses the handshake; the hub (which also serves
  // enrolment) answers 403.
  EXPECT_FALSE(post(town_sync, {})) << "the township accepted a handshake without a certificate";
  r = post(hub_sync, {});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 403);
  // An expired certificate from the right CA.
  common::TlsFiles expired = IssueVillageCert(dir_ / "pki", dir_, "expired", NowS() - 7200, NowS() - 3600);
  EXPECT_FALSE(post(town_sync, expired)) << "expired certificate accepted by the township";
  EXPECT_FALSE(post(hub_sync, expired)) << "expired certificate accepted by the hub";
  // A certificate from another city's CA, naming the same village.
  ASSERT_EQ(RunCommand({std::string(DAIBAN_SOURCE_DIR) + "/ops/pki.sh", "ca", (dir_ / "other").string()}), 0);
  common::TlsFiles foreign = IssueVillageCert(dir_ / "other", dir_, "foreign", NowS() - 60, NowS() + 3600);
  EXPECT_FALSE(post(town_sync, foreign)) << "foreign certificate accepted by the township";
  EXPECT_FALSE(post(hub_sync, foreign)) << "foreign certificate accepted by the hub";
  // A certificate the right CA signed but the hub's registry does not know (serial 1000)
  // is refused at the hub, like a revoked one.
  common::TlsFiles unknown = IssueVillageCert(dir_ / "pki", dir_, "unknown", NowS() - 60, NowS() + 3600);
  EXPECT_FALSE(post(hub_sync, unknown)) << "a certificate with a superseded serial was accepted by the hub";
  // Revoked: the hub retires the village; its real certificate is refused from now on.
  ASSERT_EQ(RunCommand({DAIBAN_HUB_BIN, "retire", "--data", (dir_ / "hub").string(), "--node-id", "v210921100202"}), 0);
  EXPECT_FALSE(post(hub_sync, village)) << "a retired node's certificate was accepted by the hub";
  // The hub publishes the retirement (master.revoked); once the township has synced, it
  // refuses the village's certificate too (bounded wait: the township syncs every second).
  bool refused_at_town = false;
  for (int i = 0; i < 40 && !refused_at_town; ++i) {
    refused_at_town = !post(town_sync, village);
    if (!refused_at_town) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(refused_at_town) << "the township still accepts a retired village's certificate";
  // An enrolment code the hub never issued enrols nothing.
  std::string out;
  EXPECT_NE(RunCommand({DAIBAN_NODE_BIN, "init", "--data", (dir_ / "again").string(), "--region", "210921100203",
                        "--tier", "village", "--enrol-code", std::string(32, 'a'), "--hub-url", hub_sync, "--ca", ca,
                        "--parent-url", town_sync, "--parent-id", "t210921100", "--config", config_},
                       &out),
            0);
  EXPECT_FALSE(fs::exists(dir_ / "again" / "node.conf"));
}

TEST_F(CityFixture, FloodingAndOversizedRequestsAreRefusedWithoutSlowingOthers) {
  // Two requests a second per child (bursts of 4), so the flood below is over the limit
  // however slow this machine is.
  Start({DAIBAN_NODE_BIN, "serve", "--data", (dir_ / "town").string(), "--sync-rate-per-s", "2"}, "town", town_port_);
  const std::string ca = (dir_ / "pki" / "ca.crt").string(), town_sync = "https://" + Addr(town_sync_port_);
  const fs::path village_tls = dir_ / "village" / "tls";
  // Eight connections at once, 30 requests each (bounded), all as the village.
  std::atomic<int> limited{0}, answered{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 8; ++t) {
    flood.emplace_back([&] {
      auto flooder = common::MakeTlsClient(town_sync, {(village_tls / "node.crt").string(),
                                                       (village_tls / "node.key").string(), ca});
      flooder->set_keep_alive(true);
      for (int i = 0; i < 30; ++i) {
        auto r = flooder->Post("/sync", "DBZ1", "application/octet-stream");
        if (!r) continue;
        ++answered;
        if (r->status == 429) ++limited;
      }
    });
  }
  for (auto& t : flood) t.join();
  EXPECT_GT(answered.load(), 200);
  EXPECT_GT(limited.load(), 0) << "240 requests in a burst were all served";
  // A sibling village is not slowed by it: its request is answered on its merits (a
  // truncated frame: 400), not limited.
  common::TlsFiles sibling = IssueVillageCert(dir_ / "pki", dir_, "sibling", NowS() - 60, NowS() + 3600, "210921100203");
  sibling.ca = ca;
  auto other = common::MakeTlsClient(town_sync, sibling);
  auto r = other->Post("/sync", "DBZ1", "application/octet-stream");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 400);
  // An oversized body is refused before it is read whole.
  std::string huge(sync::kMaxFrameBytes + 4096, 'x');
  r = other->Post("/sync", huge, "application/octet-stream");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413);
  // And the township's own pages still answer.
  int status = 0;
  ApiClient town(town_port_);
  town.Get("/api/health", &status);
  EXPECT_EQ(status, 200);
}

TEST_F(CityFixture, VerifyNamesTheFirstAlteredRowOfTheEventLog) {
  Process* village_proc = StartNode("village", village_port_);
  ApiClient village(village_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  for (const char* name : {"王芳", "李强", "张伟"}) {
    int status = 0;
    village.Post("/api/cases", {{"item", "MZ-003"}, {"applicant_name", name}, {"applicant_id", "11010519491231002X"},
                                {"applicant_phone", "13800138000"}, {"materials", Json::array({"申请书"})}},
                 &status);
    ASSERT_EQ(status, 201);
  }
  village_proc->Stop();
  const std::string data = (dir_ / "village").string(), db_path = data + "/node.db";
  std::string out;
  ASSERT_EQ(RunCommand({DAIBAN_NODE_BIN, "verify", "--data", data}, &out), 0) << out;
  EXPECT_NE(out.find("event log intact"), std::string::npos) << out;
  auto exec = [&](const std::string& sql) {
    auto db = common::Db::Open(db_path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  };
  // One event's bytes changed (edited behind the node's back): found at its row.
  exec("UPDATE events SET data = replace(data, '\"case.', '\"case .') WHERE seq = 2");
  std::string after_edit = *ReadText(db_path);
  ASSERT_NE(RunCommand({DAIBAN_NODE_BIN, "verify", "--data", data}, &out), 0);
  EXPECT_NE(out.find("altered at seq 2"), std::string::npos) << out;
  EXPECT_NE(out.find("content changed"), std::string::npos) << out;
  EXPECT_EQ(*ReadText(db_path), after_edit) << "verify changed the store";
  // The row's hash recomputed too: the chain still gives it away, at the same row.
  {
    auto db = common::Db::Open(db_path);
    ASSERT_TRUE(db.ok());
    auto q = (*db)->Prepare("SELECT data FROM events WHERE seq = 2");
    ASSERT_TRUE(q.ok());
    auto row = (*q)->Step();
    ASSERT_TRUE(row.ok() && *row);
    std::string hash = common::Sha256Hex((*q)->ColumnText(0));
    (*q)->Reset();
    ASSERT_TRUE((*db)->Exec("UPDATE events SET hash = '" + hash + "' WHERE seq = 2").ok());
  }
  out.clear();
  ASSERT_NE(RunCommand({DAIBAN_NODE_BIN, "verify", "--data", data}, &out), 0);
  EXPECT_NE(out.find("altered at seq 2"), std::string::npos) << out;
  EXPECT_NE(out.find("chain broken"), std::string::npos) << out;
  // A row removed from the middle.
  exec("DELETE FROM events WHERE seq = 4");
  out.clear();
  ASSERT_NE(RunCommand({DAIBAN_NODE_BIN, "verify", "--data", data}, &out), 0);
  EXPECT_NE(out.find("seq 2"), std::string::npos) << out;  // still the first bad row
}

TEST_F(CityFixture, PersonalDataIsEncryptedAtRestRevealedByRoleAndAWrongKeyIsRefused) {
  Process* village_proc = StartNode("village", village_port_);
  ApiClient village(village_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  const std::string id_number = std::string("110105194912") + "31002X", phone = std::string("1380013") + "8000";
  int status = 0;
  Json filed = village.Post("/api/cases", {{"item", "MZ-003"}, {"applicant_name", "王芳"}, {"applicant_id", id_number},
                                           {"applicant_phone", phone}, {"materials", Json::array({"申请书"})}},
                            &status);
  ASSERT_EQ(status, 201);
  std::string id = filed["case"]["id"];
  EXPECT_EQ(filed["case"]["applicant_id"], "110105********002X");
  // The agent may see the phone whole (to call the resident back), not the ID number.
  Json shown = village.Post("/api/cases/" + id + "/reveal", {{"field", "applicant_phone"}}, &status);
  EXPECT_EQ(status, 200) << shown.dump();
  EXPECT_TRUE(shown.value("value", "") == phone) << "the revealed phone is not the filed one";
  village.Post("/api/cases/" + id + "/reveal", {{"field", "applicant_id"}}, &status);
  EXPECT_EQ(status, 403);
  village_proc->Stop();
  // On disk: no whole ID number or phone anywhere in the store's files.
  const fs::path data = dir_ / "village";
  for (const char* f : {"node.db", "node.db-wal"}) {
    auto bytes = ReadText((data / f).string());
    if (!bytes) continue;
    EXPECT_EQ(bytes->find(id_number), std::string::npos) << f << " holds the whole ID number";
    EXPECT_EQ(bytes->find(phone), std::string::npos) << f << " holds the whole phone number";
  }
  // Another key in the key file: the node refuses to start, says why, and changes nothing.
  auto before = ReadText((data / "node.db").string());
  fs::rename(data / "data.key", data / "data.key.right");
  ASSERT_TRUE(common::FieldCipher::GenerateKeyFile((data / "data.key").string(), common::FieldAlg::kAes256Gcm).ok());
  std::string out;
  EXPECT_NE(RunCommand({"/bin/sh", "-c", std::string(DAIBAN_NODE_BIN) + " serve --data '" + data.string() + "' 2>&1"},
                       &out),
            0);
  EXPECT_NE(out.find("wrong key file"), std::string::npos) << out;
  EXPECT_EQ(ReadText((data / "node.db").string()), before) << "the store changed under a wrong key";
  // The right key back: all is well.
  fs::remove(data / "data.key");
  fs::rename(data / "data.key.right", data / "data.key");
  StartNode("village", village_port_);
  ApiClient again(village_port_);
  ASSERT_TRUE(again.Login("agent1", kPassword));
  EXPECT_EQ(again.Get("/api/cases/" + id)["case"]["applicant_id"], "110105********002X");
}

TEST(ScanPiiTest, FindsAWholeIdNumberInALogAndPrintsItMasked) {
  fs::path dir = fs::temp_directory_path() / ("daiban_scan_" + std::to_string(getpid()));
  fs::create_directories(dir / "logs");
  std::ofstream((dir / "logs" / "clean.log").string()) << "filed for 110105********002X\n";
  std::string out;
  EXPECT_EQ(RunCommand({DAIBAN_NODE_BIN, "scan-pii", dir.string()}, &out), 0) << out;
  const std::string whole = std::string("110105194912") + "31002X";
  std::ofstream((dir / "logs" / "leaky.log").string()) << "ok\nfiled for " << whole << "\n";
  out.clear();
  EXPECT_EQ(RunCommand({DAIBAN_NODE_BIN, "scan-pii", dir.string()}, &out), 1);
  EXPECT_NE(out.find("leaky.log:2: whole ID number 110105********002X"), std::string::npos) << out;
  EXPECT_EQ(out.find(whole), std::string::npos);
  fs::remove_all(dir);
}

// Certificates that last one minute: every sync round renews them (a third of the life
// is always left or less), through the parent, and sync goes on with the new ones.
class ShortCertCity : public CityFixture {
 protected:
  std::string HubCertValidity() const override { return "60"; }
};

TEST_F(ShortCertCity, NodesRenewTheirCertificatesOverTheirParentLink) {
  StartNode("town", town_port_);
  StartNode("village", village_port_);
  auto serial = [&](const std::string& node) {
    auto info = common::ReadNodeCert(*ReadText((dir_ / node / "tls" / "node.crt").string()));
    EXPECT_TRUE(info.ok());
    return info.ok() ? info->identity.serial : -1;
  };
  int64_t village_before = serial("village"), town_before = serial("town");
  ApiClient village(village_port_);
  ASSERT_TRUE(village.Login("agent1", kPassword));
  Json r = SyncNow(village);
  EXPECT_TRUE(r.value("complete", false)) << r.dump();
  // The village's renewal went village -> township -> hub.
  EXPECT_GT(serial("village"), village_before);
  // The township renews on its own rounds (every second here).
  for (int i = 0; i < 100 && serial("town") <= town_before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(serial("town"), town_before);
  // The old certificate is now refused at the hub; the new one works.
  r = SyncNow(village);
  EXPECT_TRUE(r.value("complete", false)) << r.dump();
  Json filed = village.Post("/api/cases", {{"item", "MZ-003"}, {"applicant_name", "王芳"},
                                           {"applicant_id", "11010519491231002X"}, {"applicant_phone", "13800138000"},
                                           {"materials", Json::array({"申请书"})}});
  ASSERT_TRUE(filed.contains("case")) << filed.dump();
  r = SyncNow(village);
  EXPECT_EQ(r.value("pending", -1), 0) << r.dump();
}

}  // namespace
}  // namespace daiban::testing
