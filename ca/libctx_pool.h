// LibCtxPool: OpenSSL library contexts lent to concurrent request vetting.
//
// OpenSSL 3.0 takes global read-write locks on every algorithm, decoder and
// name lookup in its default library context; parsing a CSR (its key goes
// through an OSSL_DECODER) takes dozens. With concurrent requests those locks
// bounced between cores and cost four times the parsing itself (measured:
// 6,000 CSR parses/s on 2 threads in the default context, 25,000/s with one
// context per thread). A lease gives the caller a context no other thread is
// using; contexts are created on demand (at most the peak concurrency) and
// kept for the life of the process.
//
// Thread-safety: Lease and its destructor are safe from any thread.
#ifndef MIRRORCA_CA_LIBCTX_POOL_H_
#define MIRRORCA_CA_LIBCTX_POOL_H_

#include <openssl/crypto.h>

namespace mirrorca::ca {

class LibCtxLease {
 public:
  LibCtxLease();
  ~LibCtxLease();
  LibCtxLease(const LibCtxLease&) = delete;
  LibCtxLease& operator=(const LibCtxLease&) = delete;

  // get returns the leased context, or null (the default context) if none
  // could be created.
  OSSL_LIB_CTX* get() const { return ctx_; }

 private:
  OSSL_LIB_CTX* ctx_;
};

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_LIBCTX_POOL_H_
