// PeriodicTask runs a function every `period` on a thread of its own until
// it is stopped (or destroyed); Stop wakes the thread at once and returns
// after the function's current run ends. The servers' once-a-second work
// (`hq serve`'s validation maintenance and metrics, `ocsp serve` following
// HQ's store) runs on one.
//
// Thread-safety: Stop may be called from any thread, more than once; the
// function runs on the task's thread only, never concurrently with itself.
#ifndef MIRRORCA_BASE_PERIODIC_TASK_H_
#define MIRRORCA_BASE_PERIODIC_TASK_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace mirrorca {

class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds period, std::function<void()> fn);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void Stop();

 private:
  const std::chrono::milliseconds period_;
  const std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // last: starts once the rest is built
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_PERIODIC_TASK_H_
