#include "ca/libctx_pool.h"

#include <mutex>
#include <vector>

namespace mirrorca::ca {
namespace {

struct Pool {
  std::mutex mu;
  std::vector<OSSL_LIB_CTX*> idle;  // guarded by mu
};

// Never destroyed: contexts must outlive every object made in them, and
// OpenSSL's own atexit cleanup runs in an order we do not control.
Pool& ThePool() {
  static Pool* pool = new Pool();
  return *pool;
}

}  // namespace

LibCtxLease::LibCtxLease() {
  Pool& pool = ThePool();
  {
    std::lock_guard lock(pool.mu);
    if (!pool.idle.empty()) {
      ctx_ = pool.idle.back();
      pool.idle.pop_back();
      return;
    }
  }
  ctx_ = OSSL_LIB_CTX_new();  // loads the default provider on first use
}

LibCtxLease::~LibCtxLease() {
  if (ctx_ == nullptr) return;
  Pool& pool = ThePool();
  std::lock_guard lock(pool.mu);
  pool.idle.push_back(ctx_);
}

}  // namespace mirrorca::ca
