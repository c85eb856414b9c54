// Realistic case bodies for benchmarks and tests: items from the shipped catalog, valid
// GB 11643 ID numbers, names and phones, 300-1,000 bytes of fields per case.
#ifndef DAIBAN_TESTS_SUPPORT_CASE_GEN_H_
#define DAIBAN_TESTS_SUPPORT_CASE_GEN_H_

#include <random>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "common/json.h"
#include "common/personal_id.h"
#include "common/tier.h"

namespace daiban::testing {

class CaseGenerator {
 public:
  // REQUIRES: catalog holds at least one item that allows proxy filing.
  CaseGenerator(const common::Catalog* catalog, uint64_t seed) : catalog_(catalog), rng_(seed) {
    for (const auto& item : catalog->items()) {
      if (item.proxy_allowed) proxy_items_.push_back(&item);
    }
  }

  // A valid ID number of someone born 1940-2005 in `region` (first 6 digits).
  std::string IdNumber(const std::string& region) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%04d%02d%02d%03d", region.substr(0, 6).c_str(), Uniform(1940, 2005),
                  Uniform(1, 12), Uniform(1, 28), Uniform(0, 999));
    std::string id = buf;
    return id + common::IdNumberCheckChar(id);
  }

  // A case.create body a village agent would file for a resident of `region`.
  common::Json CreateBody(const std::string& region) {
    const common::ServiceItem& item = *proxy_items_[static_cast<size_t>(Uniform(0, static_cast<int>(proxy_items_.size()) - 1))];
    static const char* kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱"};
    static const char* kGiven[] = {"秀英", "桂英", "秀兰", "玉兰", "明", "伟", "静", "丽", "强", "磊", "军", "洋", "勇", "艳"};
    std::string name = std::string(kSurnames[Uniform(0, 13)]) + kGiven[Uniform(0, 13)];
    common::Json received = common::Json::array();
    for (const auto& m : item.materials) {
      if (Uniform(0, 3) > 0) received.push_back(m);
    }
    static const char* kNotes[] = {"", "居民行动不便，由代办员上门收件。", "材料原件已核验，复印件留存。",
                                   "申请人外出务工，联系电话为家属电话。", "家庭成员5人，其中残疾1人。"};
    return {{"item", item.code},
            {"item_name", item.name},
            {"department", item.department},
            {"item_kind", std::string(common::ItemKindName(item.kind))},
            {"promised_days", item.promised_days},
            {"accept_level", std::string(common::TierName(item.accept_level))},
            {"decide_level", std::string(common::TierName(item.decide_level))},
            {"applicant_name", name},
            {"applicant_id", IdNumber(region)},
            {"applicant_phone", "1" + std::to_string(Uniform(3, 9)) + std::to_string(Uniform(100000000, 999999999))},
            {"note", kNotes[Uniform(0, 4)]},
            {"materials_required", item.materials},
            {"materials", received}};
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937_64& rng() { return rng_; }

 private:
  const common::Catalog* catalog_;
  std::mt19937_64 rng_;
  std::vector<const common::ServiceItem*> proxy_items_;
};

}  // namespace daiban::testing

#endif  // DAIBAN_TESTS_SUPPORT_CASE_GEN_H_
