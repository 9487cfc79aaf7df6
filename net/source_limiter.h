// SourceLimiter: how many connections one source address may hold open on a
// port at once. A flood of idle connections from one address then fills
// its own quota, not the server's, so other clients (an RA, a factory's
// sync) keep being served.
//
// Thread-safety: Acquire and the slots' release may run on any thread.
#ifndef MIRRORCA_NET_SOURCE_LIMITER_H_
#define MIRRORCA_NET_SOURCE_LIMITER_H_

#include <asio.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace mirrorca::net {

class SourceLimiter {
 public:
  // A held place; the place is given back when the slot is destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_), source_(other.source_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&& other) noexcept {
      if (this != &other) {
        if (owner_) owner_->Release(source_);
        owner_ = std::move(other.owner_);
        source_ = other.source_;
        other.owner_ = nullptr;
      }
      return *this;
    }
    ~Slot();

   private:
    friend class SourceLimiter;
    Slot(std::shared_ptr<SourceLimiter> owner, asio::ip::address source)
        : owner_(std::move(owner)), source_(source) {}
    std::shared_ptr<SourceLimiter> owner_;
    asio::ip::address source_;
  };

  // `per_source` 0: no limit.
  static std::shared_ptr<SourceLimiter> Create(size_t per_source);

  // Acquire takes a place for `source`, or nothing when it holds them all.
  std::optional<Slot> Acquire(const asio::ip::address& source);
  size_t HeldBy(const asio::ip::address& source) const;

 private:
  explicit SourceLimiter(size_t per_source) : per_source_(per_source) {}
  void Release(const asio::ip::address& source);

  const size_t per_source_;
  std::weak_ptr<SourceLimiter> self_;
  mutable std::mutex mu_;
  std::map<asio::ip::address, size_t> held_;  // guarded by mu_
};

}  // namespace mirrorca::net

#endif  // MIRRORCA_NET_SOURCE_LIMITER_H_
