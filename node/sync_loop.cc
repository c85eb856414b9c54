#include "node/sync_loop.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "node/enrol.h"
#include "node/http_transport.h"

namespace daiban::node {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

SyncLoop::SyncLoop(const NodeOptions& options, sync::Replica* replica, std::mutex* store_mu)
    : options_(options), replica_(replica), store_mu_(store_mu) {}

SyncLoop::~SyncLoop() { Stop(); }

void SyncLoop::Start() {
  if (options_.parent_url.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void SyncLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SyncLoop::Trigger(bool by_person) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    triggered_ = true;
    urgent_ = urgent_ || by_person;
  }
  cv_.notify_all();
}

common::Result<sync::SyncReport> SyncLoop::SyncWith(const std::string& url, const std::string& id) {
  auto& resume = resume_[url];  // once_mu_ is held
  if (!resume) resume = std::make_unique<common::TlsResumption>();
  std::unique_lock<std::mutex> store_lock(*store_mu_);
  HttpTransport transport(url, replica_->node_id(), options_.credential, &store_lock, NodeTlsFiles(options_),
                          options_.sync_timeout_s, resume.get());
  sync::Replicator replicator(replica_);
  if (seen_) replicator.set_seen(seen_);
  replicator.set_progress([this](const sync::SyncProgress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = p.done;
    total_ = p.total;
    if (print_progress_ && p.total > 0) {
      double elapsed = NowSeconds() - started_s_;
      double rate = elapsed > 0 ? static_cast<double>(p.done) / elapsed : 0;
      double left = rate > 0 ? static_cast<double>(std::max<int64_t>(0, p.total - p.done)) / rate : 0;
      std::fprintf(stderr, "\r%lld/%lld events, %.0f/s, about %.0f s left   ", static_cast<long long>(p.done),
                   static_cast<long long>(p.total), rate, left);
    }
  });
  return replicator.SyncOnce(id, &transport);
}

common::Result<sync::SyncReport> SyncLoop::SyncOnce(common::Json* report) {
  if (options_.parent_url.empty()) return common::FailedPrecondition("this node has no parent to sync with (parent_url)");
  std::lock_guard<std::mutex> one(once_mu_);
  auto handshakes = [this] {
    std::pair<int64_t, int64_t> n{0, 0};
    for (const auto& [url, resume] : resume_) {
      n.first += resume->full_handshakes();
      n.second += resume->resumed_handshakes();
    }
    return n;
  };
  const auto before = handshakes();
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = true;
    done_ = total_ = 0;
    started_s_ = NowSeconds();
  }
  if (options_.parent_url.rfind("https://", 0) == 0) {
    // Renew the certificate over the parent link while a third of its life is left.
    auto renewed = RenewIfDue(options_.parent_url, NodeTlsFiles(options_), std::time(nullptr));
    if (!renewed.ok()) {
      std::fprintf(stderr, "certificate renewal failed (will retry): %s\n", renewed.status().ToString().c_str());
    } else if (*renewed) {
      std::fprintf(stderr, "certificate renewed\n");
    }
  }
  auto r = SyncWith(options_.parent_url, options_.parent_id);
  if (!r.ok() && r.status().code() == common::StatusCode::kUnavailable && !options_.fallback_url.empty()) {
    auto f = SyncWith(options_.fallback_url, options_.fallback_id);
    if (f.ok()) r = f;
  }
  if (r.ok() && after_sync_) after_sync_();
  const auto after = handshakes();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
  if (r.ok()) {
    failed_tries_ = 0;
    last_error_.clear();
    last_report_ = {{"rounds", r->rounds},   {"pushed", r->pushed},     {"pulled", r->pulled},
                    {"refused", r->refused}, {"pending", r->pending},   {"complete", r->complete},
                    {"tls", {{"full", after.first - before.first}, {"resumed", after.second - before.second}}}};
    if (report) *report = last_report_;
  } else {
    ++failed_tries_;
    last_error_ = r.status().ToString();
  }
  return r;
}

void SyncLoop::Run() {
  int failures = 0;
  while (true) {
    auto r = SyncOnce();
    double wait_s = options_.sync_interval_s;
    if (!r.ok()) {
      // Exponential backoff from 1 s, jittered to 50-100 % so many villages coming back
      // at once do not call in step.
      double backoff = std::min<double>(options_.backoff_max_s, double(int64_t{1} << std::min(failures, 20)));
      ++failures;
      std::uniform_real_distribution<double> jitter(0.5, 1.0);
      wait_s = backoff * jitter(rng_);
    } else {
      failures = 0;
      if (!r->complete) wait_s = 0;  // more to move: go on at once
    }
    std::unique_lock<std::mutex> lock(mu_);
    next_try_s_ = NowSeconds() + wait_s;
    if (!r.ok()) {
      // Local work brings a try forward, but after a failure not sooner than
      // kTriggeredRetryAfterFailureS (nor sooner than the backoff, if that is shorter): a
      // try reads and encodes a batch under the store lock, and a refusing parent must not
      // make every filing pay for one. A person's "sync now" goes at once.
      double quiet = std::min(wait_s, kTriggeredRetryAfterFailureS);
      cv_.wait_for(lock, std::chrono::duration<double>(quiet), [this] { return stop_ || urgent_; });
      if (urgent_) wait_s = 0;
      wait_s -= quiet;
    }
    cv_.wait_for(lock, std::chrono::duration<double>(wait_s), [this] { return stop_ || triggered_; });
    if (stop_) return;
    triggered_ = false;
    urgent_ = false;
  }
}

common::Json SyncLoop::StatusJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  double elapsed = running_ ? NowSeconds() - started_s_ : 0;
  double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  common::Json eta = nullptr;
  if (running_ && rate > 0 && total_ > done_) eta = static_cast<int64_t>(static_cast<double>(total_ - done_) / rate);
  double next = next_try_s_ - NowSeconds();
  return {{"running", running_},
          {"done", done_},
          {"total", total_},
          {"rate", static_cast<int64_t>(rate)},
          {"eta_s", eta},
          {"last_report", last_report_},
          {"last_error", last_error_},
          {"failed_tries", failed_tries_},
          {"next_try_s", next > 0 ? static_cast<int64_t>(next) : 0}};
}

}  // namespace daiban::node
