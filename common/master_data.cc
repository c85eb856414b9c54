#include "common/master_data.h"

#include <filesystem>

namespace daiban::common {

Result<MasterData> LoadMasterData(const std::string& dir, const std::string& region) {
  MasterData m;
  DAIBAN_ASSIGN_OR_RETURN(m.catalog, Catalog::LoadCsv(dir + "/catalog/items.csv"));
  std::string calendar;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/calendar", ec)) {
    if (e.path().extension() == ".csv" && (calendar.empty() || e.path().string() < calendar)) calendar = e.path().string();
  }
  if (calendar.empty()) return NotFound("no holiday calendar (*.csv) in " + dir + "/calendar");
  DAIBAN_ASSIGN_OR_RETURN(m.calendar, WorkCalendar::LoadCsv(calendar));
  DAIBAN_ASSIGN_OR_RETURN(m.regions, RegionTree::LoadDir(dir + "/regions", region.substr(0, 4)));
  return m;
}

}  // namespace daiban::common
