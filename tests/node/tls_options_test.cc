// Sync is HTTPS only unless a node is explicitly set up for plain-HTTP local tests.
#include <gtest/gtest.h>

#include "node/options.h"

namespace daiban::node {
namespace {

NodeOptions Township() {
  NodeOptions o;
  o.data_dir = "/tmp/x";
  o.region = "210921100000";
  o.tier = common::Tier::kTownship;
  o.node_id = "t210921100";
  o.parent_id = "c210921";
  return o;
}

TEST(TlsOptionsTest, APlainHttpParentNeedsTheExplicitInsecureFlag) {
  NodeOptions o = Township();
  o.parent_url = "http://127.0.0.1:8711";
  auto s = ValidateOptions(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("must start with https://"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("insecure_plain_sync"), std::string::npos) << s.message();
  o.insecure_plain_sync = true;
  EXPECT_TRUE(ValidateOptions(o).ok());
  o.insecure_plain_sync = false;
  o.parent_url = "https://127.0.0.1:8711";
  EXPECT_TRUE(ValidateOptions(o).ok());
  o.sync_listen = "8721";
  EXPECT_NE(ValidateOptions(o).message().find("sync_listen"), std::string::npos);
}

TEST(TlsOptionsTest, TheSettingsRoundTripThroughNodeConf) {
  NodeOptions o = Township();
  o.parent_url = "https://127.0.0.1:8711";
  o.sync_listen = "0.0.0.0:8721";
  auto back = OptionsFromConf(OptionsToConf(o), "node.conf");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->sync_listen, "0.0.0.0:8721");
  EXPECT_FALSE(back->insecure_plain_sync);
  auto bad = OptionsFromConf("insecure_plain_sync = maybe\n", "node.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1: insecure_plain_sync: yes or no"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(NodeTlsFiles(o).key, "/tmp/x/tls/node.key");
}

}  // namespace
}  // namespace daiban::node
