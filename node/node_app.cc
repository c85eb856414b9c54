#include "node/node_app.h"

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "common/calendar.h"
#include "common/case_machine.h"
#include "common/date.h"
#include "common/field_crypto.h"
#include "common/flags.h"
#include "common/personal_id.h"
#include "common/pki.h"
#include "common/sqlite.h"
#include "node/enrol.h"
#include "node/files.h"
#include "node/node_server.h"
#include "node/options.h"
#include "sync/protocol.h"
#include "sync/verify.h"

namespace daiban::node {
namespace {

constexpr const char* kUsage = R"(daiban-node — the field node at a village proxy point, township or county centre

Usage: daiban-node <command> [options]

Commands:
  init --data DIR --region CODE --tier village|township|county --enrol-code CODE
       --hub-url https://HUB:PORT --ca CA.crt [--parent-url https://... --parent-id ID]
       [--sync-listen HOST:PORT] [--config DIR] [--listen HOST:PORT]
                                set up a node in DIR: its configuration (DIR/node.conf), its
                                store, and a copy of the master data from DIR (default config/)
  serve --data DIR              run the node: web pages and API for agents and clerks, sync
                                with the parent in the background, /sync for its children
  user add --data DIR --name N --role agent|clerk|supervisor|admin [--replace]
                                add a person who signs in here (password from the environment
                                variable DAIBAN_PASSWORD, or asked for on the terminal)
  user list --data DIR          list the people who sign in here
  sync --once --data DIR        sync with the parent now and print what moved (through the
                                running node if it is serving, else directly)
  status --data DIR             pending events, last sync per link, last error
  verify --data DIR             check the hash-chained event log; names the first altered row
  backup --data DIR --to BACKUP_DIR
                                copy the data directory into a new directory, safely while the
                                node is serving (for a nightly timer)
  restore --data DIR --from BACKUP_DIR
                                put a backup in place of DIR (the node stopped); the current DIR
                                is moved aside to DIR.before-restore-TIME, never deleted
  scan-pii FILE_OR_DIR...       look through logs and exports for whole ID numbers (exit 1 if any)
  case <list|show|file|step|materials|comment> --data DIR --user N ...
                                work on cases through the running node (see case --help)
  check-id <ID number>          check a resident's ID number (GB 11643) before filing;
                                prints it masked, never whole
  due-date --accepted YYYY-MM-DD --days N [--config DIR]
                                the due date of a case accepted that day with N promised
                                working days, using the holiday calendar in DIR/calendar
  version                       print the software version
  help, --help                  this text

Every command takes --help.
)";

int CheckId(const common::Flags& flags) {
  if (flags.Has("help") || flags.positional().empty()) {
    std::cout << "Usage: daiban-node check-id <18-character ID number>\n";
    return flags.Has("help") ? 0 : 2;
  }
  const std::string& id = flags.positional()[0];
  common::Status s = common::ValidateIdNumber(id, "id_number");
  if (!s.ok()) {
    std::cerr << "not valid: " << s.message() << "\n";
    return 1;
  }
  std::cout << "valid: " << common::MaskIdNumber(id) << "\n";
  return 0;
}

int DueDate(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-node due-date --accepted YYYY-MM-DD --days N [--config DIR]\n";
    return 0;
  }
  auto accepted_s = flags.Require("accepted");
  auto days = flags.GetInt("days", -1);
  if (!accepted_s.ok() || !days.ok() || *days < 0) {
    std::cerr << (!accepted_s.ok() ? accepted_s.status().message()
                                   : !days.ok() ? days.status().message() : "--days is required")
              << "\n";
    return 2;
  }
  auto accepted = common::Date::Parse(*accepted_s);
  if (!accepted.ok()) {
    std::cerr << accepted.status().message() << "\n";
    return 2;
  }
  std::string path = flags.Get("config", "config") + "/calendar/cn-holidays-2025-2026.csv";
  auto calendar = common::WorkCalendar::LoadCsv(path);
  if (!calendar.ok()) {
    std::cerr << calendar.status().message() << "\n";
    return 1;
  }
  common::Date due = common::DueDate(*accepted, static_cast<int>(*days), *calendar);
  std::cout << "accepted " << accepted->ToString() << ", " << *days << " working days: due "
            << due.ToString() << "\n";
  return 0;
}

// ---- init, serve, user, sync, status, case ----

namespace fs = std::filesystem;

int Fail(const common::Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return s.code() == common::StatusCode::kInvalidArgument ? 2 : 1;
}

common::Status CopyMasterData(const std::string& from, const std::string& to) {
  std::error_code ec;
  for (const char* sub : {"catalog", "calendar", "regions"}) {
    fs::path src = fs::path(from) / sub;
    if (!fs::is_directory(src)) return common::NotFound("--config: " + src.string() + " is missing");
    fs::create_directories(fs::path(to) / sub, ec);
    if (ec) return common::Unavailable("cannot create " + (fs::path(to) / sub).string() + ": " + ec.message());
    for (const auto& e : fs::directory_iterator(src)) {
      if (e.path().extension() != ".csv") continue;
      fs::copy_file(e.path(), fs::path(to) / sub / e.path().filename(), fs::copy_options::overwrite_existing, ec);
      if (ec) return common::Unavailable("cannot copy " + e.path().string() + ": " + ec.message());
    }
  }
  return common::Status::Ok();
}

int Init(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-node init --data DIR --region CODE --tier village|township|county\n"
                 "         --enrol-code CODE --hub-url https://HUB:PORT --ca CA.crt\n"
                 "         [--node-id ID] [--listen HOST:PORT] [--sync-listen HOST:PORT] [--hosts H1,H2]\n"
                 "         [--parent-url https://... --parent-id ID] [--fallback-url URL --fallback-id ID]\n"
                 "         [--config DIR]\n"
                 "   or, for local tests only: --insecure-plain-sync --credential TOKEN --hub-key FILE\n"
                 "                             (--data-key FILE | --new-data-key)\n\n"
                 "Sets up a node in DIR: DIR/node.conf (every setting, see config/node-*.conf), the\n"
                 "event store, the user list, and a copy of the master data (catalog, calendar,\n"
                 "region tree) from --config (default: config). Enrolment: the node makes its own key,\n"
                 "sends a certificate request with the one-time code from `daiban-hub enrol` to the\n"
                 "hub (checked against the city CA, --ca) and stores DIR/tls/node.key, node.crt, ca.crt.\n"
                 "A township or county serves its children's sync on --sync-listen (HTTPS); --hosts are\n"
                 "the names children dial (default: the --sync-listen host).\n";
    return 0;
  }
  NodeOptions o;
  if (auto s = ApplyFlags(flags, {"help", "hub-key", "config", "enrol-code", "hub-url", "ca", "hosts",
                                  "insecure-plain-sync", "data-key", "new-data-key"},
                          &o);
      !s.ok()) {
    return Fail(s);
  }
  o.insecure_plain_sync = flags.Has("insecure-plain-sync");
  if (o.node_id.empty()) o.node_id = DefaultNodeId(o.tier, o.region);
  if (!o.insecure_plain_sync) {
    for (const char* f : {"enrol-code", "hub-url", "ca"}) {
      if (!flags.Has(f)) {
        return Fail(common::InvalidArgument(std::string("--") + f + ": required (enrolment with the hub: daiban-hub enrol "
                                            "gives the code; --insecure-plain-sync is for local tests only)"));
      }
    }
    if (o.tier != common::Tier::kVillage && o.sync_listen.empty()) {
      return Fail(common::InvalidArgument("--sync-listen: a " + std::string(common::TierName(o.tier)) +
                                          " serves its children's sync on HOST:PORT (HTTPS)"));
    }
  }
  if (auto s = ValidateOptions(o); !s.ok()) return Fail(s);
  if (fs::exists(fs::path(o.data_dir) / "node.conf")) {
    return Fail(common::AlreadyExists("a node is already set up in " + o.data_dir + " (node.conf exists)"));
  }
  std::error_code ec;
  fs::create_directories(o.data_dir, ec);
  if (ec) return Fail(common::Unavailable("cannot create " + o.data_dir + ": " + ec.message()));
  std::string master = o.data_dir + "/master";
  if (auto s = CopyMasterData(flags.Get("config", "config"), master); !s.ok()) return Fail(s);
  auto data = LoadMasterData(master, o.region);
  if (!data.ok()) return Fail(data.status());
  if (!data->regions.Lookup(o.region).ok()) {
    return Fail(common::InvalidArgument("region: " + o.region + " is not in the region tree of --config"));
  }
  if (flags.Has("hub-key")) {
    auto pem = ReadFile(flags.Get("hub-key"));
    if (!pem.ok()) return Fail(pem.status());
    auto key = common::VerifyKey::FromPublicPem(*pem);
    if (!key.ok()) return Fail(key.status().WithContext("--hub-key"));
    if (auto s = WriteFileAtomic(o.data_dir + "/hub_key.pem", *pem); !s.ok()) return Fail(s);
  }
  if (!o.insecure_plain_sync) {
    std::vector<std::string> hosts;
    std::string list = flags.Get("hosts");
    if (list.empty() && !o.sync_listen.empty()) {
      std::string h = o.sync_listen.substr(0, o.sync_listen.rfind(':'));
      if (h != "0.0.0.0" && h != "::" && !h.empty()) list = h;
    }
    for (size_t start = 0; start < list.size();) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) hosts.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
    auto cert = EnrolWithHub(flags.Get("hub-url"), flags.Get("ca"), flags.Get("enrol-code"), o.node_id, hosts,
                             NodeTlsFiles(o), DataKeyPath(o));
    if (!cert.ok()) return Fail(cert.status());
    if (cert->identity.region != o.region || cert->identity.tier != o.tier) {
      return Fail(common::InvalidArgument("--region/--tier: the hub enrolled " + o.node_id + " as " +
                                          std::string(common::TierName(cert->identity.tier)) + " " +
                                          cert->identity.region + "; run init again with those"));
    }
    std::cout << "enrolled: certificate for " << o.node_id << " valid until "
              << common::DateFromUnixMillisCst(cert->not_after_s * 1000).ToString() << " (renewed automatically)\n";
  }
  if (o.insecure_plain_sync) {
    // No enrolment: the city's data key comes from a file (--data-key) or is made here.
    if (flags.Has("new-data-key")) {
      auto made = common::FieldCipher::GenerateKeyFile(DataKeyPath(o), common::FieldAlg::kAes256Gcm);
      if (!made.ok()) return Fail(made.status().WithContext("--new-data-key"));
    } else if (flags.Has("data-key")) {
      auto text = ReadFile(flags.Get("data-key"));
      if (!text.ok()) return Fail(text.status().WithContext("--data-key"));
      if (auto s = WriteFileAtomic(DataKeyPath(o), *text, 0600); !s.ok()) return Fail(s);
    } else {
      return Fail(common::InvalidArgument("--data-key FILE (the city's data key) or --new-data-key is required "
                                          "without enrolment"));
    }
  }
  auto key = common::FieldCipher::Load(DataKeyPath(o));
  if (!key.ok()) return Fail(key.status().WithContext("data key"));
  o.data_key_id = key->KeyId();
  if (auto s = WriteFileAtomic(o.data_dir + "/node.conf", OptionsToConf(o), 0600); !s.ok()) return Fail(s);
  auto server = NodeServer::Open(o);  // creates the store and the user list
  if (!server.ok()) return Fail(server.status());
  std::cout << "node " << o.node_id << " (" << common::TierName(o.tier) << ", " << o.region << ") set up in "
            << o.data_dir << "\nnext: daiban-node user add --data " << o.data_dir
            << " --name NAME --role agent|clerk, then daiban-node serve --data " << o.data_dir << "\n";
  return 0;
}

int ScanPii(const common::Flags& flags) {
  const auto& paths = flags.positional();
  if (flags.Has("help") || paths.empty()) {
    std::cout << "Usage: daiban-node scan-pii FILE_OR_DIR...\n"
                 "Looks through log files and exports (directories recursively; SQLite databases are\n"
                 "skipped) for whole resident ID numbers and prints each one found, masked, with its\n"
                 "file and line. Exit 0 if none, 1 if any.\n";
    return flags.Has("help") ? 0 : 2;
  }
  int files = 0, hits = 0;
  auto scan = [&](const fs::path& p) {
    std::string name = p.filename().string();
    if (name.find(".db") != std::string::npos || fs::file_size(p) > (64u << 20)) return;
    std::ifstream in(p, std::ios::binary);
    std::string line;
    int n = 0;
    ++files;
    while (std::getline(in, line)) {
      ++n;
      for (const auto& masked : common::FindIdNumbers(line)) {
        std::cout << p.string() << ":" << n << ": whole ID number " << masked << "\n";
        ++hits;
      }
    }
  };
  for (const auto& arg : paths) {
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const auto& e : fs::recursive_directory_iterator(arg, fs::directory_options::skip_permission_denied, ec)) {
        if (e.is_regular_file(ec)) scan(e.path());
      }
    } else if (fs::is_regular_file(arg, ec)) {
      scan(arg);
    } else {
      return Fail(common::NotFound("scan-pii: " + arg + " is not a file or directory"));
    }
  }
  std::cout << (hits ? std::to_string(hits) + " whole ID number(s)" : std::string("no whole ID numbers")) << " in "
            << files << " file(s)\n";
  return hits ? 1 : 0;
}

int Verify(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("data")) {
    std::cout << "Usage: daiban-node verify --data DIR\n"
                 "Walks the hash-chained event log in DIR/node.db (read-only; the node may be running) and\n"
                 "names the first row that was changed, inserted or removed; lists the log heads this\n"
                 "node recorded for its children. Exit 0 intact, 1 not.\n";
    return flags.Has("help") ? 0 : 2;
  }
  return sync::PrintVerify(flags.Get("data") + "/node.db");
}

int Serve(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-node serve --data DIR [any setting of node.conf as --key value]\n\n"
                 "Serves the web pages and API on `listen`, syncs with the parent in the background\n"
                 "and answers its children's /sync requests. Stops cleanly on SIGINT or SIGTERM.\n";
    return 0;
  }
  auto o = LoadOptions(flags.Get("data"), flags, {"data", "help"});
  if (!o.ok()) return Fail(o.status());
  // Held while serving: a restore refuses to run under this process, and so does a second serve.
  auto lock = common::DataDirLock::Acquire(o->data_dir);
  if (!lock.ok()) return Fail(lock.status().WithContext("cannot serve"));
  // Signals go to one thread that stops the server; everything else runs with them blocked.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto server = NodeServer::Open(*o);
  if (!server.ok()) return Fail(server.status());
  auto token = common::RandomHex(32);
  if (!token.ok()) return Fail(token.status());
  (*server)->users()->AddLocalToken(*token);
  if (auto s = WriteFileAtomic(o->data_dir + "/cli.token", *token, 0600); !s.ok()) return Fail(s);
  NodeServer* raw = server->get();
  std::thread signals([raw, set] {
    int sig = 0;
    sigwait(&set, &sig);
    raw->Stop();
  });
  signals.detach();
  std::cout << "daiban-node " << o->node_id << " serving on http://" << o->listen << "/" << std::endl;
  common::Status s = (*server)->Serve();
  std::error_code ec;
  fs::remove(o->data_dir + "/cli.token", ec);
  if (!s.ok()) return Fail(s);
  std::cout << "stopped\n";
  return 0;
}

std::string Password() {
  if (const char* p = std::getenv("DAIBAN_PASSWORD")) return p;
  std::cerr << "password: ";
  std::string line;
  std::getline(std::cin, line);
  return line;
}

int UserCmd(const common::Flags& flags) {
  const auto& pos = flags.positional();
  if (flags.Has("help") || pos.empty()) {
    std::cout << "Usage: daiban-node user add --data DIR --name NAME --role agent|clerk|supervisor|admin [--replace]\n"
                 "       daiban-node user list --data DIR\n"
                 "The password comes from DAIBAN_PASSWORD or is read from the terminal (at least 8 characters).\n";
    return flags.Has("help") ? 0 : 2;
  }
  auto o = LoadOptions(flags.Get("data"), common::Flags(), {});
  if (!o.ok()) return Fail(o.status());
  auto book = UserBook::Open(o->data_dir + "/users.db", common::SystemClock::Get(), o->session_hours);
  if (!book.ok()) return Fail(book.status());
  if (pos[0] == "list") {
    auto users = (*book)->List();
    if (!users.ok()) return Fail(users.status());
    for (const auto& u : *users) std::cout << u.name << "\t" << common::RoleName(u.role) << "\n";
    return 0;
  }
  if (pos[0] != "add") return Fail(common::InvalidArgument("user: expected add or list"));
  auto role = common::ParseRole(flags.Get("role"));
  if (!role.ok()) return Fail(role.status().WithContext("--role"));
  auto s = (*book)->Add(flags.Get("name"), *role, Password(), flags.Has("replace"));
  if (!s.ok()) return Fail(s);
  std::cout << "user " << flags.Get("name") << " (" << common::RoleName(*role) << ") can sign in at http://"
            << o->listen << "/\n";
  return 0;
}

// A client of the running node's API, signed in with the local token (cli.token) or a user.
struct LocalApi {
  std::unique_ptr<httplib::Client> client;
  httplib::Headers headers;
};

common::Result<LocalApi> ConnectLocal(const NodeOptions& o, const std::string& user) {
  LocalApi api;
  api.client = std::make_unique<httplib::Client>("http://" + o.listen);
  api.client->set_connection_timeout(2, 0);
  api.client->set_read_timeout(600, 0);
  auto health = api.client->Get("/api/health");
  if (!health || health->status != 200) return common::Unavailable("the node is not serving on " + o.listen);
  if (user.empty()) {
    DAIBAN_ASSIGN_OR_RETURN(std::string token, ReadFile(o.data_dir + "/cli.token"));
    api.headers = {{"Authorization", "Bearer " + token}};
    return api;
  }
  common::Json login = {{"user", user}, {"password", Password()}};
  auto r = api.client->Post("/api/login", login.dump(), "application/json");
  if (!r || r->status != 200) return common::PermissionDenied("cannot sign in as " + user + ": wrong user name or password");
  auto j = common::ParseJson(r->body);
  if (!j.ok()) return j.status();
  api.headers = {{"Authorization", "Bearer " + j->value("token", "")}};
  return api;
}

// Prints a JSON reply; non-2xx replies print the error and return 1.
int PrintReply(const httplib::Result& r) {
  if (!r) {
    std::cerr << "error: the node did not answer: " << httplib::to_string(r.error()) << "\n";
    return 1;
  }
  auto j = common::ParseJson(r->body);
  if (r->status >= 300) {
    std::cerr << "error: " << (j.ok() && j->contains("error") ? (*j)["error"].value("message", r->body) : r->body)
              << "\n";
    return r->status == 400 ? 2 : 1;
  }
  std::cout << (j.ok() ? j->dump(2) : r->body) << "\n";
  return 0;
}

int SyncCmd(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("once")) {
    std::cout << "Usage: daiban-node sync --once --data DIR\n"
                 "Syncs with the parent now (through the running node if it is serving) and prints\n"
                 "what moved. Exits 1 if the parent cannot be reached or refuses.\n";
    return flags.Has("help") ? 0 : 2;
  }
  auto o = LoadOptions(flags.Get("data"), common::Flags(), {});
  if (!o.ok()) return Fail(o.status());
  if (auto api = ConnectLocal(*o, ""); api.ok()) {
    return PrintReply(api->client->Post("/api/sync?wait=1", api->headers, "", "application/json"));
  }
  auto server = NodeServer::Open(*o);
  if (!server.ok()) return Fail(server.status());
  (*server)->sync_loop()->SetProgressPrinter(true);
  auto r = (*server)->sync_loop()->SyncOnce();
  if (!r.ok()) return Fail(r.status());
  std::cout << "synced with " << o->parent_id << ": " << r->pushed << " events up, " << r->pulled << " down, "
            << r->refused << " refused, " << r->pending << " still waiting, in " << r->rounds << " exchanges\n";
  return 0;
}

int StatusCmd(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-node status --data DIR\nPending events, last sync per link, last error.\n";
    return 0;
  }
  auto o = LoadOptions(flags.Get("data"), common::Flags(), {});
  if (!o.ok()) return Fail(o.status());
  if (auto api = ConnectLocal(*o, ""); api.ok()) return PrintReply(api->client->Get("/api/status", api->headers));
  auto server = NodeServer::Open(*o);
  if (!server.ok()) return Fail(server.status());
  auto st = (*server)->StatusJson();
  if (!st.ok()) return Fail(st.status());
  std::cout << st->dump(2) << "\n(the node is not serving)\n";
  return 0;
}

int CaseCmd(const common::Flags& flags) {
  const auto& pos = flags.positional();
  if (flags.Has("help") || pos.empty()) {
    std::cout << "Usage: daiban-node case <command> --data DIR --user NAME [options]   (password: DAIBAN_PASSWORD)\n"
                 "  list [--view queue|inbox|warnings|conflicts] [--q TEXT] [--status S]\n"
                 "  show CASE_ID\n"
                 "  file --json '{\"item\":\"MZ-003\",\"applicant_name\":...}'   (fields as POST /api/cases)\n"
                 "  step CASE_ID --json '{\"action\":\"accept\"}'\n"
                 "  materials CASE_ID --json '{\"add\":[\"户口簿\"]}'\n"
                 "  comment CASE_ID --json '{\"text\":\"...\"}'\n"
                 "Works through the running node (daiban-node serve).\n";
    return flags.Has("help") ? 0 : 2;
  }
  auto o = LoadOptions(flags.Get("data"), common::Flags(), {});
  if (!o.ok()) return Fail(o.status());
  if (!flags.Has("user")) return Fail(common::InvalidArgument("--user is required"));
  auto api = ConnectLocal(*o, flags.Get("user"));
  if (!api.ok()) return Fail(api.status());
  auto& c = *api->client;
  const std::string& cmd = pos[0];
  std::string json = flags.Get("json", "{}");
  if (cmd == "list") {
    httplib::Params params;
    for (const char* k : {"view", "q", "status"})
      if (flags.Has(k)) params.emplace(k, flags.Get(k));
    return PrintReply(c.Get("/api/cases", params, api->headers));
  }
  if (cmd == "file") return PrintReply(c.Post("/api/cases", api->headers, json, "application/json"));
  if (pos.size() < 2) return Fail(common::InvalidArgument("case " + cmd + ": give the case id"));
  std::string path = "/api/cases/" + pos[1];
  if (cmd == "show") return PrintReply(c.Get(path, api->headers));
  if (cmd == "step") return PrintReply(c.Post(path + "/steps", api->headers, json, "application/json"));
  if (cmd == "materials") return PrintReply(c.Post(path + "/materials", api->headers, json, "application/json"));
  if (cmd == "comment") return PrintReply(c.Post(path + "/comments", api->headers, json, "application/json"));
  return Fail(common::InvalidArgument("case: unknown command '" + cmd + "' (see case --help)"));
}

// ---- backup, restore ----

int BackupCmd(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("data") || !flags.Has("to")) {
    std::cout << "Usage: daiban-node backup --data DIR --to BACKUP_DIR\n"
                 "Copies the data directory into BACKUP_DIR, which must not exist (made with mode 700):\n"
                 "every *.db with SQLite's online backup, so the node may keep serving and writing,\n"
                 "and every other file as it is (node.conf, tls/, data.key, master/). Leaves out -wal/-shm\n"
                 "files, *.log and cli.token. BACKUP_DIR/BACKUP.txt says when, of which node, by which\n"
                 "version, and lists every file with its size and SHA-256; restore checks them.\n"
                 "The backup holds the node's key and the city's data key: keep it as safe as DIR.\n";
    return flags.Has("help") ? 0 : 2;
  }
  if (auto s = flags.CheckKnown({"data", "to", "help"}); !s.ok()) return Fail(s);
  auto o = LoadOptions(flags.Get("data"), common::Flags(), {});
  if (!o.ok()) return Fail(o.status());
  const std::string to = flags.Get("to");
  auto m = common::BackupDataDir(o->data_dir, to,
                                 {"node", o->node_id, "daiban-node " + std::string(sync::kSoftwareVersion)});
  if (!m.ok()) return Fail(m.status());
  std::error_code ec;
  const fs::path key = fs::weakly_canonical(DataKeyPath(*o), ec), dir = fs::weakly_canonical(o->data_dir, ec);
  if (const fs::path rel = fs::relative(key, dir, ec); rel.empty() || *rel.begin() == "..") {
    std::cout << "note: the data key " << key.string() << " is outside " << o->data_dir
              << " and not in the backup; keep a copy of it apart\n";
  }
  std::cout << "backup of " << o->node_id << " in " << fs::absolute(to, ec).string() << ": " << m->Summary()
            << "\n";
  return 0;
}

// The serial of the node certificate at `path`; -1 if there is none or it cannot be read.
int64_t CertSerial(const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem.ok()) return -1;
  auto info = common::ReadNodeCert(*pem);
  return info.ok() ? info->identity.serial : -1;
}

// True if a node answers /api/health on `listen` as `node_id`.
bool Answers(const std::string& listen, const std::string& node_id) {
  httplib::Client c("http://" + listen);
  c.set_connection_timeout(1, 0);
  c.set_read_timeout(2, 0);
  auto r = c.Get("/api/health");
  if (!r || r->status != 200) return false;
  auto j = common::ParseJson(r->body);
  return j.ok() && j->value("node_id", "") == node_id;
}

// How to stop the node serving `dir`: under ops/systemd the unit is daiban-node@NAME for
// /var/lib/daiban/NAME.
std::string HowToStop(const std::string& dir) {
  std::string name = fs::path(dir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(dir).lexically_normal().parent_path().filename().string();
  return "stop it first (systemctl stop daiban-node@" + name + ", or SIGTERM to its serve process)";
}

int RestoreCmd(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("data") || !flags.Has("from")) {
    std::cout << "Usage: daiban-node restore --data DIR --from BACKUP_DIR\n"
                 "Checks every file of the backup against BACKUP.txt (a damaged one is refused, naming\n"
                 "the file), refuses while the node is serving DIR, moves the current DIR aside to\n"
                 "DIR.before-restore-YYYYmmdd-HHMMSS (never deleted), and puts the backup in its place.\n"
                 "If the current tls/ holds a certificate renewed after the backup, it is kept: the\n"
                 "parent refuses a superseded one. On its next sync the node catches up from its parent.\n";
    return flags.Has("help") ? 0 : 2;
  }
  if (auto s = flags.CheckKnown({"data", "from", "help"}); !s.ok()) return Fail(s);
  const std::string dir = flags.Get("data"), from = flags.Get("from");
  auto m = common::CheckBackup(from);
  if (!m.ok()) return Fail(common::Status(m.status().code(), m.status().message() + "; nothing was changed"));
  if (m->label.kind != "node") {
    return Fail(
        common::FailedPrecondition(from + " is a backup of the " + m->label.kind + ", not of a node"));
  }
  std::cout << "backup in " << from << " checked: " << m->files.size() << " files match BACKUP.txt ("
            << m->label.of << ", made " << m->made << " by " << m->label.software << ")\n";
  std::error_code ec;
  std::unique_ptr<common::DataDirLock> lock;
  std::vector<std::string> keep;
  int64_t current_serial = -1;
  const int64_t backup_serial = CertSerial(from + "/tls/node.crt");
  if (fs::exists(dir, ec)) {
    auto held = common::DataDirLock::Acquire(dir);
    if (!held.ok()) {
      if (held.status().code() != common::StatusCode::kFailedPrecondition) return Fail(held.status());
      return Fail(common::FailedPrecondition("the node is running (" + held.status().message() +
                                             "): " + HowToStop(dir)));
    }
    lock = std::move(*held);
    if (auto o = LoadOptions(dir, common::Flags(), {}); o.ok()) {
      if (o->node_id != m->label.of) {
        return Fail(common::FailedPrecondition(dir + " holds node " + o->node_id + ", the backup is of " +
                                               m->label.of + ": restore it into another directory, or move " +
                                               dir + " away first"));
      }
      if (Answers(o->listen, o->node_id)) {
        return Fail(
            common::FailedPrecondition("the node is running on " + o->listen + ": " + HowToStop(dir)));
      }
    }
    current_serial = CertSerial(dir + "/tls/node.crt");
    if (current_serial > backup_serial) keep.push_back("tls");
  }
  auto r = common::RestoreDataDir(from, *m, dir, keep);
  if (!r.ok()) return Fail(r.status());
  if (!r->moved_aside.empty()) {
    std::cout << "moved the current " << dir << " aside to " << r->moved_aside
              << " (kept: remove it yourself once the node works)\n";
  }
  std::cout << "restored " << m->label.of << " into " << dir << ": " << m->Summary() << "\n";
  if (r->moved_aside.empty() && ::geteuid() == 0) {
    std::cout << "note: the restored files belong to root; give them to the node's user before starting it\n"
              << "  (under ops/systemd: chown -R daiban:daiban " << dir << ")\n";
  }
  if (!r->kept.empty()) {
    std::cout << "kept the current tls/: its certificate (serial " << current_serial
              << ") was renewed after the backup (serial " << backup_serial
              << "), and the parent refuses a superseded certificate\n";
  } else if (backup_serial >= 0 && current_serial < 0) {
    std::cout << "the restored certificate is serial " << backup_serial
              << "; if it was renewed after the backup the parent refuses it: enrol the node again\n";
  }
  std::cout
      << "next: start the node (daiban-node serve --data " << dir << ").\n"
      << "On its next sync it catches up from its parent: it gets back what the parent holds and sends\n"
      << "up what the parent lacks. Work done here after the backup that never reached the parent is lost.\n";
  return 0;
}

}  // namespace

int NodeApp::Run(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "help";
  common::Flags flags = common::Flags::Parse(argc, argv, 2);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "daiban-node " << sync::kSoftwareVersion << " (sync protocol " << sync::kProtocolVersionMin << "-"
              << sync::kProtocolVersionMax << ")\n";
    return 0;
  }
  if (cmd == "check-id") return CheckId(flags);
  if (cmd == "due-date") return DueDate(flags);
  if (cmd == "init") return Init(flags);
  if (cmd == "serve") return Serve(flags);
  if (cmd == "verify") return Verify(flags);
  if (cmd == "backup") return BackupCmd(flags);
  if (cmd == "restore") return RestoreCmd(flags);
  if (cmd == "scan-pii") return ScanPii(flags);
  if (cmd == "user") return UserCmd(flags);
  if (cmd == "sync") return SyncCmd(flags);
  if (cmd == "status") return StatusCmd(flags);
  if (cmd == "case") return CaseCmd(flags);
  std::cerr << "unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}

}  // namespace daiban::node
