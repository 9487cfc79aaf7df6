// CacheWarmUp runs a server's one-off cache warm-up (the pre-signed OCSP
// answers read into their block cache) on a thread of its own, beside
// serving, and logs what it read; destroying it stops the warm-up early
// and waits for it.
//
// Thread-safety: built and destroyed on one thread; the work runs on its own.
#ifndef MIRRORCA_CLI_CACHE_WARM_UP_H_
#define MIRRORCA_CLI_CACHE_WARM_UP_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "base/logging.h"
#include "validation/presigned_store.h"

namespace mirrorca::cli {

class CacheWarmUp {
 public:
  using Work = std::function<Result<validation::PresignedStore::WarmUpResult>(const std::atomic<bool>& stop)>;
  explicit CacheWarmUp(Work work)
      : thread_([this, work = std::move(work)] {
          const auto start = std::chrono::steady_clock::now();
          Result<validation::PresignedStore::WarmUpResult> r = work(stop_);
          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
          if (!r.ok()) {
            logging::Warn("ocsp-cache-warm-up", {{"warning", "ocsp-cache-warm-up"}, {"detail", r.status().ToString()}});
            return;
          }
          logging::Info("ocsp-cache-warm-up", {{"answers", r->answers}, {"bytes", r->bytes}, {"ms", ms.count()},
                                               {"stopped", stop_.load()}});
        }) {}
  ~CacheWarmUp() {
    stop_ = true;
    thread_.join();
  }
  CacheWarmUp(const CacheWarmUp&) = delete;
  CacheWarmUp& operator=(const CacheWarmUp&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once stop_ is built
};

}  // namespace mirrorca::cli

#endif  // MIRRORCA_CLI_CACHE_WARM_UP_H_
