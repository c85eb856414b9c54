#include "node/node_app.h"

#include <iostream>
#include <string>

#include "common/calendar.h"
#include "common/case_machine.h"
#include "common/flags.h"
#include "common/personal_id.h"

namespace daiban::node {
namespace {

constexpr const char* kUsage = R"(daiban-node — the field node at a village proxy point, township or county centre

Usage: daiban-node <command> [options]

Commands:
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

}  // namespace

int NodeApp::Run(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "help";
  common::Flags flags = common::Flags::Parse(argc, argv, 2);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "daiban-node 0.1.0\n";
    return 0;
  }
  if (cmd == "check-id") return CheckId(flags);
  if (cmd == "due-date") return DueDate(flags);
  std::cerr << "unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}

}  // namespace daiban::node
