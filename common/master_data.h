// The master data a node or the hub works with: the catalog, the holiday calendar and the
// city's region tree, from a directory laid out like config/ (each node and the hub keep a
// copy in DATA/master, made at init).
#ifndef DAIBAN_COMMON_MASTER_DATA_H_
#define DAIBAN_COMMON_MASTER_DATA_H_

#include <string>

#include "common/calendar.h"
#include "common/catalog.h"
#include "common/region.h"
#include "common/status.h"

namespace daiban::common {

struct MasterData {
  Catalog catalog;
  WorkCalendar calendar;
  RegionTree regions;
};

// Loads DIR/catalog/items.csv, the first DIR/calendar/*.csv (by name) and the city's tree
// from DIR/regions (root: the first 4 digits of `region`). Errors name the file and line.
Result<MasterData> LoadMasterData(const std::string& dir, const std::string& region);

}  // namespace daiban::common

#endif  // DAIBAN_COMMON_MASTER_DATA_H_
