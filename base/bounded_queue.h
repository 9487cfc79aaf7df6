// BoundedQueue: a blocking FIFO of at most `capacity` items between producer
// and consumer threads — a pipeline stage that must not run ahead of the next
// one by more than a few items (the audit hands verified chunks of events to
// the thread that rebuilds a projection from them).
//
// Close() ends the stream: Push then refuses, and Pop returns nullopt once the
// queue is empty. Either side may close (a consumer that failed closes it so
// the producer stops waiting).
//
// Thread-safety: every method may be called from any thread.
#ifndef MIRRORCA_BASE_BOUNDED_QUEUE_H_
#define MIRRORCA_BASE_BOUNDED_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace mirrorca {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Push waits for room, then appends `item`; false (item dropped) once closed.
  bool Push(T item) {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    ready_.notify_one();
    return true;
  }

  // Pop waits for an item and returns it; nullopt when closed and drained.
  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    room_.notify_one();
    return item;
  }

  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    ready_.notify_all();
    room_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_BOUNDED_QUEUE_H_
