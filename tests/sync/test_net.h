// Test doubles for the sync layer: nodes with in-memory stores and an in-memory link
// that can be down, drop requests or replies, repeat requests, or cut frames short.
#ifndef DAIBAN_TESTS_SYNC_TEST_NET_H_
#define DAIBAN_TESTS_SYNC_TEST_NET_H_

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "common/calendar.h"
#include "common/clock.h"
#include "sync/replica.h"
#include "sync/protocol.h"
#include "sync/replicator.h"
#include "sync/sync_service.h"
#include "sync/transport.h"

namespace daiban::sync::testing {

// One node: replica + the service it runs for its children.
struct TestNode {
  std::string id;
  std::string region;
  common::Tier tier;
  std::unique_ptr<Replica> replica;
  std::unique_ptr<SyncService> service;

  PeerIdentity identity() const { return {id, region, tier}; }
};

// Opens a node with an in-memory (or file) store.
inline std::unique_ptr<TestNode> MakeNode(const std::string& id, const std::string& region, common::Tier tier,
                                          const common::Clock* clock, const std::string& incarnation = "",
                                          const std::string& path = ":memory:", bool durable = false) {
  auto n = std::make_unique<TestNode>();
  n->id = id;
  n->region = region;
  n->tier = tier;
  StoreOptions o;
  o.path = path;
  o.node_id = id;
  o.region = region;
  o.tier = tier;
  o.incarnation = incarnation;
  o.synchronous_full = durable;  // tests need no fsync but the one that counts them
  auto store = EventStore::Open(o);
  if (!store.ok()) {
    std::fprintf(stderr, "PANIC: %s\n", store.status().ToString().c_str());
    std::abort();
  }
  n->replica = std::make_unique<Replica>(std::move(store).value(), clock);
  n->service = std::make_unique<SyncService>(n->replica.get());
  return n;
}

// What a link does to the next exchanges.
struct LinkFaults {
  bool down = false;             // every exchange fails, nothing reaches the parent
  double drop_request = 0;       // lost on the way: the parent never sees it
  double drop_reply = 0;         // the parent applied it, the reply is lost
  double duplicate_request = 0;  // the parent sees it twice
  double truncate_request = 0;   // the parent sees only a prefix of the frame
  double truncate_reply = 0;     // the child sees only a prefix of the reply
};

// An in-memory link from a child to a parent's SyncService, with seeded faults.
class TestLink : public Transport {
 public:
  TestLink(TestNode* parent, PeerIdentity child, std::mt19937_64* rng, LinkFaults faults = {})
      : parent_(parent), child_(std::move(child)), rng_(rng), faults_(faults) {}

  common::Result<std::string> RoundTrip(std::string_view request) override {
    ++exchanges_;
    if (faults_.down) return common::Unavailable("link down");
    if (Chance(faults_.drop_request)) return common::Unavailable("request lost");
    std::string req(request);
    if (Chance(faults_.truncate_request) && req.size() > 1) req.resize(Pick(req.size()));
    if (Chance(faults_.duplicate_request)) (void)parent_->service->Handle(child_, req);
    HandleResult r = parent_->service->Handle(child_, req);
    bytes_ += request.size() + r.frame.size();
    if (Chance(faults_.drop_reply)) return common::Unavailable("reply lost");
    if (Chance(faults_.truncate_reply) && r.frame.size() > 1) r.frame.resize(Pick(r.frame.size()));
    return r.frame;
  }

  LinkFaults& faults() { return faults_; }
  int64_t exchanges() const { return exchanges_; }
  int64_t bytes() const { return bytes_; }

 private:
  bool Chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(*rng_) < p; }
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(1, n - 1)(*rng_); }

  TestNode* parent_;
  PeerIdentity child_;
  std::mt19937_64* rng_;
  LinkFaults faults_;
  int64_t exchanges_ = 0;
  int64_t bytes_ = 0;
};

// A create body for a township-accepts, county-decides item.
inline common::Json SampleCreateBody(const std::string& name = "张三") {
  return {{"item", "MZ-001"},
          {"item_name", "最低生活保障申请"},
          {"department", "民政局"},
          {"item_kind", "承诺件"},
          {"promised_days", 20},
          {"accept_level", "township"},
          {"decide_level", "county"},
          {"applicant_name", name},
          {"applicant_id", "11010519491231002X"},
          {"applicant_phone", "13800138000"},
          {"note", ""},
          {"materials_required", {"申请书", "居民身份证", "户口簿"}},
          {"materials", {"申请书"}}};
}

// A frame of `text` as a node would send it (sync/codec.h), whatever the text: the
// magic, then `text` compressed at zlib `level`.
inline std::string RawFrame(const std::string& text, int level = 6) {
  uLongf bound = compressBound(static_cast<uLong>(text.size()));
  std::string out(bound, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &bound, reinterpret_cast<const Bytef*>(text.data()),
                static_cast<uLong>(text.size()), level) != Z_OK) {
    std::fprintf(stderr, "RawFrame: compress2 failed\n");
    std::abort();
  }
  out.resize(bound);
  return std::string(kFrameMagic) + out;
}

}  // namespace daiban::sync::testing

#endif  // DAIBAN_TESTS_SYNC_TEST_NET_H_
