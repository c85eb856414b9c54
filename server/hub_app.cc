#include "server/hub_app.h"

#include <iostream>
#include <string>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/flags.h"
#include "common/region.h"

namespace daiban::server {
namespace {

constexpr const char* kUsage = R"(daiban-hub — the city hub: master data, statistics, supervision

Usage: daiban-hub <command> [options]

Commands:
  check-data [--config DIR] [--root CODE]
                     load the region tree, service-item catalog and holiday calendar
                     from DIR (default: config) and report what they hold, or the first
                     error with its file and line
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

}  // namespace

int HubApp::Run(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "help";
  common::Flags flags = common::Flags::Parse(argc, argv, 2);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "daiban-hub 0.1.0\n";
    return 0;
  }
  if (cmd == "check-data") return CheckData(flags);
  std::cerr << "unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}

}  // namespace daiban::server
