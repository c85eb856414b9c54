#include "server/hub_app.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/credential.h"
#include "common/field_crypto.h"
#include "common/flags.h"
#include "common/region.h"
#include "common/sqlite.h"
#include "server/hub_server.h"
#include "sync/protocol.h"
#include "sync/verify.h"

namespace daiban::server {
namespace {

constexpr const char* kUsage = R"(daiban-hub — the city hub: master data, statistics, supervision

Usage: daiban-hub <command> [options]

Commands:
  check-data [--config DIR] [--root CODE]
                     load the region tree, service-item catalog and holiday calendar
                     from DIR (default: config) and report what they hold, or the first
                     error with its file and line
  init --data DIR --region CITY_CODE --pki PKI_DIR [--listen HOST:PORT]
       [--sync-listen HOST:PORT] [--cert-validity-s N] [--config DIR]
                     set up the hub: its store, node registry, the city CA and hub
                     certificate from PKI_DIR (made by ops/pki.sh), copied into DIR/tls.
                     Nodes sync over HTTPS with mutual TLS on --sync-listen (default
                     127.0.0.1:8701); the dashboard is on --listen (default 127.0.0.1:8700).
                     --insecure-plain-sync instead of --pki: nodes sync over plain HTTP
                     with bearer credentials (local tests only)
  enrol --data DIR --region CODE --tier village|township|county [--node-id ID]
        [--valid-hours N] [--bearer]
                     register a node and print a one-time enrolment code for
                     daiban-node init --enrol-code (valid 72 hours unless --valid-hours);
                     --bearer prints a bearer credential for an insecure-plain-sync city
  serve --data DIR [--listen HOST:PORT] [--sync-listen HOST:PORT]
                     answer the nodes' /sync requests; the dashboard and statistics API
  verify --data DIR  check the hash-chained event log (names the first altered row) and
                     list the log heads recorded for each child node
  user add --data DIR --name N --role supervisor|admin | user list --data DIR
                     people who sign in at the hub (password from DAIBAN_PASSWORD)
  backup --data DIR --to BACKUP_DIR
                     copy the data directory into a new directory, safely while the hub
                     is serving (for a nightly timer)
  restore --data DIR --from BACKUP_DIR
                     put a backup in place of DIR (the hub stopped); the current DIR is
                     moved aside to DIR.before-restore-TIME, never deleted
  stats rebuild --data DIR
                     recompute every statistic from the event log (hub stopped)
  retire --data DIR --node-id ID
                     refuse a node's credential from now on
  master publish --data DIR (--catalog FILE | --calendar FILE)
                     publish a new catalog or holiday calendar to every node
  version            print the software version
  help, --help       this text

Every command takes --help.
)";

int CheckData(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-hub check-data [--config DIR] [--root CODE]\n";
    return 0;
  }
  std::string dir = flags.Get("config", "config");
  auto tree = common::RegionTree::LoadDir(dir + "/regions", flags.Get("root", ""));
  if (!tree.ok()) {
    std::cerr << "regions: " << tree.status().message() << "\n";
    return 1;
  }
  auto catalog = common::Catalog::LoadCsv(dir + "/catalog/items.csv");
  if (!catalog.ok()) {
    std::cerr << "catalog: " << catalog.status().message() << "\n";
    return 1;
  }
  auto calendar = common::WorkCalendar::LoadCsv(dir + "/calendar/cn-holidays-2025-2026.csv");
  if (!calendar.ok()) {
    std::cerr << "calendar: " << calendar.status().message() << "\n";
    return 1;
  }
  using common::RegionLevel;
  std::cout << "regions:  " << tree->CountAtLevel(RegionLevel::kCounty) << " counties/districts, "
            << tree->CountAtLevel(RegionLevel::kTownship) << " townships, "
            << tree->CountAtLevel(RegionLevel::kVillage) << " villages\n";
  size_t proxy = 0;
  for (const auto& item : catalog->items()) proxy += item.proxy_allowed ? 1 : 0;
  std::cout << "catalog:  " << catalog->items().size() << " service items, " << proxy
            << " may be filed by a village agent\n";
  std::cout << "calendar: " << calendar->exception_count() << " holiday/make-up days for years";
  for (int y : calendar->YearsCovered()) std::cout << " " << y;
  std::cout << "\n";
  return 0;
}


namespace fs = std::filesystem;

int Fail(const common::Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return s.code() == common::StatusCode::kInvalidArgument ? 2 : 1;
}

common::Result<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

common::Status WritePrivate(const std::string& path, const std::string& data, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) return common::Unavailable("cannot write " + path);
  ::chmod(path.c_str(), mode);
  return common::Status::Ok();
}

common::Result<HubOptions> LoadHub(const common::Flags& flags) {
  std::string dir = flags.Get("data");
  if (dir.empty()) return common::InvalidArgument("--data is required");
  auto text = Slurp(dir + "/hub.conf");
  if (!text.ok()) return common::NotFound("no hub in " + dir + ": run daiban-hub init first");
  DAIBAN_ASSIGN_OR_RETURN(HubOptions o, HubOptionsFromConf(*text, dir + "/hub.conf"));
  o.data_dir = dir;
  if (flags.Has("listen")) o.listen = flags.Get("listen");
  if (flags.Has("sync-listen")) o.sync_listen = flags.Get("sync-listen");
  return o;
}

int Init(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-hub init --data DIR --region CITY_CODE (--pki PKI_DIR | --insecure-plain-sync)\n"
                 "                      [--listen HOST:PORT] [--sync-listen HOST:PORT] [--cert-validity-s N]\n"
                 "                      [--config DIR]\n";
    return 0;
  }
  if (auto s = flags.CheckKnown({"data", "region", "listen", "config", "pki", "sync-listen", "insecure-plain-sync",
                                 "cert-validity-s"});
      !s.ok()) {
    return Fail(s);
  }
  HubOptions o;
  o.data_dir = flags.Get("data");
  o.region = flags.Get("region");
  o.listen = flags.Get("listen", o.listen);
  o.insecure_plain_sync = flags.Has("insecure-plain-sync");
  const std::string pki = flags.Get("pki");
  if (o.data_dir.empty()) return Fail(common::InvalidArgument("--data is required"));
  if (pki.empty() && !o.insecure_plain_sync) {
    return Fail(common::InvalidArgument("--pki: the directory ops/pki.sh made (ca.crt, ca.key, hub.crt, hub.key); "
                                        "nodes sync only over mutual TLS"));
  }
  if (!pki.empty()) o.sync_listen = flags.Get("sync-listen", "127.0.0.1:8701");
  if (flags.Has("cert-validity-s")) {
    auto conf = HubOptionsFromConf("cert_validity_s = " + flags.Get("cert-validity-s"), "--cert-validity-s");
    if (!conf.ok()) return Fail(conf.status());
    o.cert_validity_s = conf->cert_validity_s;
  }
  if (!pki.empty()) {
    for (const char* f : {"ca.crt", "ca.key", "hub.crt", "hub.key"}) {
      if (!fs::exists(pki + "/" + f)) {
        return Fail(common::InvalidArgument("--pki: " + pki + "/" + f + " is missing (make it with ops/pki.sh)"));
      }
    }
  }
  auto tree = common::RegionTree::LoadDir(flags.Get("config", "config") + "/regions", o.region.substr(0, 4));
  if (!tree.ok()) return Fail(tree.status());
  if (!tree->Lookup(o.region).ok()) return Fail(common::InvalidArgument("--region: " + o.region + " is not in the region tree"));
  if (fs::exists(o.data_dir + "/hub.conf")) return Fail(common::AlreadyExists("a hub is already set up in " + o.data_dir));
  std::error_code ec;
  fs::create_directories(o.data_dir, ec);
  if (ec) return Fail(common::Unavailable("cannot create " + o.data_dir + ": " + ec.message()));
  auto key = common::SigningKey::Generate();
  if (!key.ok()) return Fail(key.status());
  auto priv = key->PrivatePem();
  auto pub = key->PublicPem();
  if (!priv.ok() || !pub.ok()) return Fail(!priv.ok() ? priv.status() : pub.status());
  if (auto s = WritePrivate(o.data_dir + "/hub_key.pem", *priv, 0600); !s.ok()) return Fail(s);
  if (auto s = WritePrivate(o.data_dir + "/hub_key.pub.pem", *pub, 0644); !s.ok()) return Fail(s);
  // The city's data key: ID and phone numbers are encrypted under it at every node; nodes
  // receive it with their certificate at enrolment.
  if (auto made = common::FieldCipher::GenerateKeyFile(o.data_dir + "/data.key", common::FieldAlg::kAes256Gcm);
      !made.ok()) {
    return Fail(made.status().WithContext("data key"));
  }
  if (!pki.empty()) {
    fs::create_directories(o.data_dir + "/tls", ec);
    for (const char* f : {"ca.crt", "ca.key", "hub.crt", "hub.key"}) {
      auto text = Slurp(pki + "/" + f);
      if (!text.ok()) return Fail(text.status());
      bool secret = std::string_view(f).ends_with(".key");
      if (auto s = WritePrivate(o.data_dir + "/tls/" + f, *text, secret ? 0600 : 0644); !s.ok()) return Fail(s);
    }
  }
  if (auto s = WritePrivate(o.data_dir + "/hub.conf", HubOptionsToConf(o), 0644); !s.ok()) return Fail(s);
  // The hub keeps its own copy of the master data: enrolment checks codes against the
  // region tree, statistics use the catalog and the calendar.
  auto catalog = common::Catalog::LoadCsv(flags.Get("config", "config") + "/catalog/items.csv");
  if (!catalog.ok()) return Fail(catalog.status());
  for (const char* sub : {"regions", "catalog", "calendar"}) {
    fs::create_directories(o.data_dir + "/master/" + sub, ec);
    for (const auto& e : fs::directory_iterator(flags.Get("config", "config") + "/" + sub, ec)) {
      if (e.path().extension() == ".csv") {
        fs::copy_file(e.path(), o.data_dir + "/master/" + sub + "/" + e.path().filename().string(),
                      fs::copy_options::overwrite_existing, ec);
      }
    }
    if (ec) return Fail(common::Unavailable(std::string("cannot copy the master data (") + sub + "): " + ec.message()));
  }
  auto hub = HubServer::Open(o);
  if (!hub.ok()) return Fail(hub.status());
  std::cout << "hub for " << o.region << " set up in " << o.data_dir << "\n";
  if (!pki.empty()) {
    std::cout << "nodes sync with https://" << o.sync_listen << " (mutual TLS); each needs " << o.data_dir
              << "/tls/ca.crt and an enrolment code (daiban-hub enrol)\n";
  } else {
    std::cout << "WARNING: insecure plain-HTTP sync (local tests only); nodes need " << o.data_dir
              << "/hub_key.pub.pem (daiban-node init --hub-key) and a credential (daiban-hub enrol --bearer)\n";
  }
  return 0;
}

int Enrol(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-hub enrol --data DIR --region CODE --tier village|township|county [--node-id ID]\n"
                 "                       [--valid-hours N] [--bearer]\n"
                 "Prints a one-time enrolment code (or, with --bearer, a bearer credential) on stdout.\n";
    return 0;
  }
  if (auto s = flags.CheckKnown({"data", "region", "tier", "node-id", "valid-hours", "bearer"}); !s.ok()) return Fail(s);
  auto o = LoadHub(flags);
  if (!o.ok()) return Fail(o.status());
  auto tier = common::ParseTier(flags.Get("tier"));
  if (!tier.ok()) return Fail(tier.status().WithContext("--tier"));
  if (*tier == common::Tier::kCity) return Fail(common::InvalidArgument("--tier: the city tier is the hub itself"));
  std::string region = flags.Get("region");
  auto code = common::RegionCode::Parse(region);
  if (!code.ok()) return Fail(code.status().WithContext("--region"));
  auto tree = common::RegionTree::LoadDir(o->data_dir + "/master/regions", o->region.substr(0, 4));
  if (!tree.ok()) return Fail(tree.status());
  if (!tree->Lookup(region).ok()) {
    return Fail(common::InvalidArgument("--region: " + region + " does not exist in this city's region tree"));
  }
  const common::RegionLevel want = *tier == common::Tier::kVillage    ? common::RegionLevel::kVillage
                                   : *tier == common::Tier::kTownship ? common::RegionLevel::kTownship
                                                                      : common::RegionLevel::kCounty;
  if (code->level() != want) {
    return Fail(common::InvalidArgument("--region: " + region + " is not a " + std::string(common::TierName(*tier)) +
                                        " code (a node's region must be at its tier's level)"));
  }
  if (region.rfind(std::string(common::RegionCode::Parse(o->region)->Prefix()), 0) != 0) {
    return Fail(common::InvalidArgument("--region: " + region + " is not in this hub's city"));
  }
  auto registry = Registry::Open(o->data_dir + "/registry.db");
  if (!registry.ok()) return Fail(registry.status());
  common::NodeCredential cred;
  const char* letter = *tier == common::Tier::kVillage ? "v" : *tier == common::Tier::kTownship ? "t" : "c";
  cred.node_id = flags.Get("node-id", letter + std::string(code->Prefix()));
  cred.region = region;
  cred.tier = *tier;
  cred.issued_ms = common::SystemClock::Get()->NowMillis();
  if (!flags.Has("bearer")) {
    if (o->sync_listen.empty()) {
      return Fail(common::FailedPrecondition("this hub has no TLS listener (set up without --pki): use --bearer"));
    }
    std::string hours_text = flags.Get("valid-hours", "72");
    char* end = nullptr;
    long long hours = std::strtoll(hours_text.c_str(), &end, 10);
    if (hours_text.empty() || *end != '\0' || hours < 1 || hours > 24 * 30) {
      return Fail(common::InvalidArgument("--valid-hours: a whole number of hours from 1 to 720"));
    }
    auto one_time = (*registry)->IssueCode(cred, cred.issued_ms + hours * 3600 * 1000);
    if (!one_time.ok()) return Fail(one_time.status());
    std::cout << *one_time << "\n";
    std::cerr << "one-time enrolment code for " << cred.node_id << " (" << common::TierName(cred.tier) << " " << region
              << "), valid " << hours << " hours: daiban-node init ... --node-id " << cred.node_id
              << " --enrol-code CODE --hub-url https://" << o->sync_listen << " --ca " << o->data_dir << "/tls/ca.crt\n";
    return 0;
  }
  if (!o->insecure_plain_sync) {
    return Fail(common::FailedPrecondition("--bearer: this hub accepts only certificates (insecure_plain_sync = no)"));
  }
  auto priv = Slurp(o->data_dir + "/hub_key.pem");
  if (!priv.ok()) return Fail(priv.status());
  auto key = common::SigningKey::FromPrivatePem(*priv);
  if (!key.ok()) return Fail(key.status());
  auto token = (*registry)->Enrol(*key, cred);
  if (!token.ok()) return Fail(token.status());
  std::cout << *token << "\n";
  return 0;
}

int UserCmd(const common::Flags& flags) {
  const auto& pos = flags.positional();
  if (flags.Has("help") || pos.empty()) {
    std::cout << "Usage: daiban-hub user add --data DIR --name NAME --role supervisor|admin [--replace]\n"
                 "       daiban-hub user list --data DIR\n"
                 "The password comes from DAIBAN_PASSWORD or is read from the terminal (at least 8 characters).\n";
    return flags.Has("help") ? 0 : 2;
  }
  auto o = LoadHub(flags);
  if (!o.ok()) return Fail(o.status());
  auto book = common::UserBook::Open(o->data_dir + "/users.db", common::SystemClock::Get(), 12);
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
  if (*role != common::Role::kSupervisor && *role != common::Role::kAdmin) {
    return Fail(common::InvalidArgument("--role: people at the hub are supervisors or admins"));
  }
  std::string password;
  if (const char* p = std::getenv("DAIBAN_PASSWORD")) {
    password = p;
  } else {
    std::cerr << "password: ";
    std::getline(std::cin, password);
  }
  auto st = (*book)->Add(flags.Get("name"), *role, password, flags.Has("replace"));
  if (!st.ok()) return Fail(st);
  std::cout << "user " << flags.Get("name") << " (" << common::RoleName(*role) << ") can sign in at http://"
            << o->listen << "/\n";
  return 0;
}

int StatsCmd(const common::Flags& flags) {
  const auto& pos = flags.positional();
  if (flags.Has("help") || pos.empty() || pos[0] != "rebuild") {
    std::cout << "Usage: daiban-hub stats rebuild --data DIR\n"
                 "Recomputes every statistic from the event log. Stop the hub first.\n";
    return flags.Has("help") ? 0 : 2;
  }
  auto o = LoadHub(flags);
  if (!o.ok()) return Fail(o.status());
  auto hub = HubServer::Open(*o);
  if (!hub.ok()) return Fail(hub.status());
  if (auto st = (*hub)->RebuildStats(); !st.ok()) return Fail(st);
  std::cout << "statistics rebuilt from the event log\n";
  return 0;
}

int Retire(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("node-id")) {
    std::cout << "Usage: daiban-hub retire --data DIR --node-id ID\n"
                 "The node's credential is refused at the hub from now on (enrol it again to bring it back).\n";
    return flags.Has("help") ? 0 : 2;
  }
  auto o = LoadHub(flags);
  if (!o.ok()) return Fail(o.status());
  auto registry = Registry::Open(o->data_dir + "/registry.db");
  if (!registry.ok()) return Fail(registry.status());
  if (auto st = (*registry)->Retire(flags.Get("node-id")); !st.ok()) return Fail(st);
  std::cout << "node " << flags.Get("node-id") << " retired\n";
  return 0;
}

int MasterCmd(const common::Flags& flags) {
  const auto& pos = flags.positional();
  if (flags.Has("help") || pos.empty() || pos[0] != "publish" || (flags.Has("catalog") == flags.Has("calendar"))) {
    std::cout << "Usage: daiban-hub master publish --data DIR (--catalog items.csv | --calendar calendar.csv)\n"
                 "Checks the file whole (errors name the line), then publishes it as the next version to\n"
                 "every node; nodes use it after their next sync, without a restart. Cases already\n"
                 "accepted keep the due date they were given.\n";
    return flags.Has("help") ? 0 : 2;
  }
  auto o = LoadHub(flags);
  if (!o.ok()) return Fail(o.status());
  std::string kind = flags.Has("catalog") ? "catalog" : "calendar";
  auto text = Slurp(flags.Get(kind));
  if (!text.ok()) return Fail(text.status());
  // Through the running hub if it is serving (its token is DATA/cli.token), else directly.
  if (auto token = Slurp(o->data_dir + "/cli.token"); token.ok()) {
    httplib::Client c("http://" + o->listen);
    c.set_connection_timeout(2, 0);
    auto r = c.Post("/api/master/" + kind, {{"Authorization", "Bearer " + *token}}, *text, "text/csv");
    if (r) {
      auto j = common::ParseJson(r->body);
      if (r->status != 200) {
        std::cerr << "error: " << (j.ok() && j->contains("error") ? (*j)["error"].value("message", r->body) : r->body)
                  << "\n";
        return r->status == 400 ? 2 : 1;
      }
      std::cout << "published " << kind << " version " << (j.ok() ? j->value("version", int64_t{0}) : 0) << "\n";
      return 0;
    }
  }
  auto hub = HubServer::Open(*o);
  if (!hub.ok()) return Fail(hub.status());
  auto r = (*hub)->PublishMaster(kind, *text, "cli");
  if (!r.ok()) return Fail(r.status());
  std::cout << "published " << kind << " version " << (*r)["version"] << "\n";
  return 0;
}

int Verify(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("data")) {
    std::cout << "Usage: daiban-hub verify --data DIR\n"
                 "Walks the hash-chained event log in DIR/hub.db (read-only; the node may be running) and\n"
                 "names the first row that was changed, inserted or removed; lists the log heads this\n"
                 "node recorded for its children. Exit 0 intact, 1 not.\n";
    return flags.Has("help") ? 0 : 2;
  }
  return sync::PrintVerify(flags.Get("data") + "/hub.db");
}

int Serve(const common::Flags& flags) {
  if (flags.Has("help")) {
    std::cout << "Usage: daiban-hub serve --data DIR [--listen HOST:PORT] [--sync-listen HOST:PORT]\n";
    return 0;
  }
  auto o = LoadHub(flags);
  if (!o.ok()) return Fail(o.status());
  // Held while serving: a restore refuses to run under this process, and so does a second serve.
  auto lock = common::DataDirLock::Acquire(o->data_dir);
  if (!lock.ok()) return Fail(lock.status().WithContext("cannot serve"));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto hub = HubServer::Open(*o);
  if (!hub.ok()) return Fail(hub.status());
  auto token = common::RandomHex(32);
  if (!token.ok()) return Fail(token.status());
  (*hub)->users()->AddLocalToken(*token);
  if (auto st = WritePrivate(o->data_dir + "/cli.token", *token, 0600); !st.ok()) return Fail(st);
  HubServer* raw = hub->get();
  std::thread([raw, set] {
    int sig = 0;
    sigwait(&set, &sig);
    raw->Stop();
  }).detach();
  std::cout << "daiban-hub serving on http://" << o->listen << "/" << std::endl;
  auto s = (*hub)->Serve();
  std::error_code ec;
  fs::remove(o->data_dir + "/cli.token", ec);
  if (!s.ok()) return Fail(s);
  std::cout << "stopped\n";
  return 0;
}

// ---- backup, restore ----

int BackupCmd(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("data") || !flags.Has("to")) {
    std::cout << "Usage: daiban-hub backup --data DIR --to BACKUP_DIR\n"
                 "Copies the data directory into BACKUP_DIR, which must not exist (made with mode 700):\n"
                 "every *.db (hub.db, registry.db, users.db, ...) with SQLite's online backup, so the hub\n"
                 "may keep serving and writing, and every other file as it is (hub.conf, tls/ with the\n"
                 "city CA key, hub_key.pem, data.key, master/). Leaves out -wal/-shm files, *.log and\n"
                 "cli.token. BACKUP_DIR/BACKUP.txt says when and by which version, and lists every file\n"
                 "with its size and SHA-256; restore checks them. The backup holds the city's keys: keep\n"
                 "it as safe as DIR.\n";
    return flags.Has("help") ? 0 : 2;
  }
  if (auto s = flags.CheckKnown({"data", "to", "help"}); !s.ok()) return Fail(s);
  auto o = LoadHub(flags);
  if (!o.ok()) return Fail(o.status());
  const std::string to = flags.Get("to");
  auto m = common::BackupDataDir(
      o->data_dir, to, {"hub", "hub " + o->region, "daiban-hub " + std::string(sync::kSoftwareVersion)});
  if (!m.ok()) return Fail(m.status());
  std::error_code ec;
  std::cout << "backup of hub " << o->region << " in " << fs::absolute(to, ec).string() << ": "
            << m->Summary() << "\n";
  return 0;
}

// notBefore of the PEM certificate at `path`, in Unix seconds; -1 if it cannot be read.
int64_t CertNotBefore(const std::string& path) {
  auto pem = Slurp(path);
  if (!pem.ok()) return -1;
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!cert) return -1;
  std::tm tm{};
  int64_t s = ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) == 1 ? static_cast<int64_t>(timegm(&tm)) : -1;
  X509_free(cert);
  return s;
}

// A registry entry as restore compares it.
struct RegistryEntry {
  int64_t serial = 0;
  bool retired = false;
};

// node id -> entry, from a registry.db; empty if it cannot be read. `immutable`: open it
// without making -wal/-shm files beside it (a restored store, whose files root may own).
std::map<std::string, RegistryEntry> RegistryEntries(const std::string& path, bool immutable) {
  std::map<std::string, RegistryEntry> out;
  std::error_code ec;
  if (!fs::exists(path, ec)) return out;
  common::DbOptions read_only;
  read_only.read_only = true;
  read_only.immutable = immutable;
  auto db = common::Db::Open(path, read_only);
  if (!db.ok()) return out;
  auto q = (*db)->Prepare("SELECT node_id, serial, retired FROM nodes");
  if (!q.ok()) return out;
  for (auto row = (*q)->Step(); row.ok() && *row; row = (*q)->Step()) {
    out[(*q)->ColumnText(0)] = {(*q)->ColumnInt(1), (*q)->ColumnInt(2) != 0};
  }
  return out;
}

void PrintNodes(const std::vector<std::string>& nodes) {
  for (size_t i = 0; i < nodes.size() && i < 20; ++i) std::cout << " " << nodes[i];
  std::cout << (nodes.size() > 20 ? " ..." : "") << "\n";
}

// True if a hub answers /api/health on `listen`.
bool Answers(const std::string& listen, const std::string& node_id) {
  httplib::Client c("http://" + listen);
  c.set_connection_timeout(1, 0);
  c.set_read_timeout(2, 0);
  auto r = c.Get("/api/health");
  if (!r || r->status != 200) return false;
  auto j = common::ParseJson(r->body);
  return j.ok() && j->value("node_id", "") == node_id;
}

constexpr const char* kHowToStop =
    "stop it first (systemctl stop daiban-hub, or SIGTERM to its serve process)";

int RestoreCmd(const common::Flags& flags) {
  if (flags.Has("help") || !flags.Has("data") || !flags.Has("from")) {
    std::cout << "Usage: daiban-hub restore --data DIR --from BACKUP_DIR\n"
                 "Checks every file of the backup against BACKUP.txt (a damaged one is refused, naming\n"
                 "the file), refuses while the hub is serving DIR, moves the current DIR aside to\n"
                 "DIR.before-restore-YYYYmmdd-HHMMSS (never deleted), and puts the backup in its place.\n"
                 "A current tls/ whose hub certificate is newer than the backup's is kept. On their next\n"
                 "sync the nodes send the hub again what it lost.\n";
    return flags.Has("help") ? 0 : 2;
  }
  if (auto s = flags.CheckKnown({"data", "from", "help"}); !s.ok()) return Fail(s);
  const std::string dir = flags.Get("data"), from = flags.Get("from");
  auto m = common::CheckBackup(from);
  if (!m.ok()) return Fail(common::Status(m.status().code(), m.status().message() + "; nothing was changed"));
  if (m->label.kind != "hub") {
    return Fail(common::FailedPrecondition(from + " is a backup of a " + m->label.kind + ", not of the hub"));
  }
  std::cout << "backup in " << from << " checked: " << m->files.size() << " files match BACKUP.txt ("
            << m->label.of << ", made " << m->made << " by " << m->label.software << ")\n";
  std::error_code ec;
  std::unique_ptr<common::DataDirLock> lock;
  std::vector<std::string> keep;
  if (fs::exists(dir, ec)) {
    auto held = common::DataDirLock::Acquire(dir);
    if (!held.ok()) {
      if (held.status().code() != common::StatusCode::kFailedPrecondition) return Fail(held.status());
      return Fail(
          common::FailedPrecondition("the hub is running (" + held.status().message() + "): " + kHowToStop));
    }
    lock = std::move(*held);
    if (auto o = LoadHub(flags); o.ok()) {
      if ("hub " + o->region != m->label.of) {
        return Fail(common::FailedPrecondition(dir + " holds the hub of " + o->region +
                                               ", the backup is of the " + m->label.of +
                                               ": restore it into another directory"));
      }
      if (Answers(o->listen, o->node_id)) {
        return Fail(common::FailedPrecondition("the hub is running on " + o->listen + ": " + kHowToStop));
      }
    }
    if (CertNotBefore(dir + "/tls/hub.crt") > CertNotBefore(from + "/tls/hub.crt")) keep.push_back("tls");
  }
  auto r = common::RestoreDataDir(from, *m, dir, keep);
  if (!r.ok()) return Fail(r.status());
  if (!r->moved_aside.empty()) {
    std::cout << "moved the current " << dir << " aside to " << r->moved_aside
              << " (kept: remove it yourself once the hub works)\n";
  }
  std::cout << "restored the " << m->label.of << " into " << dir << ": " << m->Summary() << "\n";
  if (r->moved_aside.empty() && ::geteuid() == 0) {
    std::cout << "note: the restored files belong to root; give them to the hub's user before starting it\n"
              << "  (under ops/systemd: chown -R daiban:daiban " << dir << ")\n";
  }
  if (!r->kept.empty()) {
    std::cout << "kept the current tls/: its hub certificate was issued after the backup's\n";
  }
  if (!r->moved_aside.empty()) {
    // Nodes enrolled or renewed after the backup hold certificates the restored registry
    // does not know as current: the hub refuses them until they are enrolled again.
    auto before = RegistryEntries(r->moved_aside + "/registry.db", false),
         now = RegistryEntries(dir + "/registry.db", true);
    std::vector<std::string> renewed, unretired;
    for (const auto& [node, entry] : before) {
      auto it = now.find(node);
      if (entry.retired && (it == now.end() || !it->second.retired)) {
        unretired.push_back(node);
      } else if (!entry.retired && (it == now.end() || it->second.serial != entry.serial)) {
        renewed.push_back(node);
      }
    }
    if (!renewed.empty()) {
      std::cout << renewed.size() << " node(s) were enrolled or renewed their certificate after the backup;"
                << " the hub refuses them until they are enrolled again (daiban-hub enrol):";
      PrintNodes(renewed);
    }
    if (!unretired.empty()) {
      std::cout << "WARNING: " << unretired.size() << " node(s) were retired after the backup and are"
                << " accepted again; retire them again now (daiban-hub retire):";
      PrintNodes(unretired);
    }
  }
  std::cout << "next: start the hub (daiban-hub serve --data " << dir
            << "). On their next sync the nodes send it again what it lost since the backup.\n";
  return 0;
}

}  // namespace

int HubApp::Run(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "help";
  common::Flags flags = common::Flags::Parse(argc, argv, 2);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "daiban-hub " << sync::kSoftwareVersion << " (sync protocol " << sync::kProtocolVersionMin << "-"
              << sync::kProtocolVersionMax << ")\n";
    return 0;
  }
  if (cmd == "check-data") return CheckData(flags);
  if (cmd == "init") return Init(flags);
  if (cmd == "enrol") return Enrol(flags);
  if (cmd == "serve") return Serve(flags);
  if (cmd == "verify") return Verify(flags);
  if (cmd == "backup") return BackupCmd(flags);
  if (cmd == "restore") return RestoreCmd(flags);
  if (cmd == "user") return UserCmd(flags);
  if (cmd == "stats") return StatsCmd(flags);
  if (cmd == "master") return MasterCmd(flags);
  if (cmd == "retire") return Retire(flags);
  std::cerr << "unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}

}  // namespace daiban::server
