#include "net/source_limiter.h"

namespace mirrorca::net {

SourceLimiter::Slot::~Slot() {
  if (owner_) owner_->Release(source_);
}

std::shared_ptr<SourceLimiter> SourceLimiter::Create(size_t per_source) {
  std::shared_ptr<SourceLimiter> l(new SourceLimiter(per_source));
  l->self_ = l;
  return l;
}

std::optional<SourceLimiter::Slot> SourceLimiter::Acquire(const asio::ip::address& source) {
  std::lock_guard lock(mu_);
  size_t& held = held_[source];
  if (per_source_ != 0 && held >= per_source_) {
    if (held == 0) held_.erase(source);
    return std::nullopt;
  }
  ++held;
  return Slot(self_.lock(), source);
}

size_t SourceLimiter::HeldBy(const asio::ip::address& source) const {
  std::lock_guard lock(mu_);
  auto it = held_.find(source);
  return it == held_.end() ? 0 : it->second;
}

void SourceLimiter::Release(const asio::ip::address& source) {
  std::lock_guard lock(mu_);
  auto it = held_.find(source);
  if (it == held_.end()) return;
  if (--it->second == 0) held_.erase(it);
}

}  // namespace mirrorca::net
