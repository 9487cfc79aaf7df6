#include "base/periodic_task.h"

namespace mirrorca {

PeriodicTask::PeriodicTask(std::chrono::milliseconds period, std::function<void()> fn)
    : period_(period), fn_(std::move(fn)), thread_([this] {
        std::unique_lock lock(mu_);
        while (!cv_.wait_for(lock, period_, [this] { return stopping_; })) {
          lock.unlock();
          fn_();
          lock.lock();
        }
      }) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

}  // namespace mirrorca
