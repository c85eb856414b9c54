// sync/verify.h: the read-only walk behind `daiban-node verify` / `daiban-hub verify`.
#include "sync/verify.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "sync/event_store.h"

namespace daiban::sync {
namespace {

TEST(VerifyTest, AnEmptyStoreIsIntactAndHistoryAlertsAreReported) {
  std::string path = (std::filesystem::temp_directory_path() / ("daiban_verify_" + std::to_string(getpid()) + ".db"))
                         .string();
  std::filesystem::remove(path);
  {
    StoreOptions so;
    so.path = path;
    so.node_id = "t210921100";
    so.region = "210921100000";
    so.tier = common::Tier::kTownship;
    auto store = EventStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->BeginBatch().ok());
    ASSERT_TRUE((*store)->RecordAlert({1, "v210921100202", "history_rewritten", 7, "rewritten at seq 7"}).ok());
    ASSERT_TRUE((*store)->CommitBatch().ok());
  }
  auto report = VerifyStoreFile(path);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->chain.events, 0);
  ASSERT_EQ(report->alerts.size(), 1u);
  EXPECT_NE(report->alerts[0].find("v210921100202 history_rewritten at seq 7"), std::string::npos) << report->alerts[0];
  EXPECT_EQ(VerifyStoreFile(path + ".missing").status().code(), common::StatusCode::kNotFound);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

}  // namespace
}  // namespace daiban::sync
