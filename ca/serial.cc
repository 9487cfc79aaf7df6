#include "ca/serial.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <mutex>

#include <openssl/rand.h>

#include "ca/openssl_types.h"

namespace mirrorca::ca {
namespace {

// Each thread draws randomness for many serials at once: a RAND_bytes call
// costs about as much as 30 serials' worth of bytes (the DRBG's locks and
// its fork check), and a factory draws one serial per certificate.
struct SerialPool {
  std::array<unsigned char, 32 * kSerialBytes> bytes;
  size_t used = 32 * kSerialBytes;  // empty
};
thread_local SerialPool pool;

// A forked child must not reuse its parent's unused bytes (two processes
// would draw the same serials): the child's copy of the forking thread's
// pool is emptied (the child has no other thread).
void EmptyPoolAfterFork() { pool.used = pool.bytes.size(); }

}  // namespace

Result<Bytes> RandomSerial() {
  static std::once_flag at_fork;
  std::call_once(at_fork, [] { pthread_atfork(nullptr, nullptr, EmptyPoolAfterFork); });
  Bytes serial(kSerialBytes);
  do {
    if (pool.used + kSerialBytes > pool.bytes.size()) {
      if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) != 1) {
        return OpenSslError("draw a random serial");
      }
      pool.used = 0;
    }
    std::copy_n(pool.bytes.begin() + static_cast<std::ptrdiff_t>(pool.used), kSerialBytes, serial.begin());
    pool.used += kSerialBytes;
    serial[0] &= 0x7f;
  } while (serial[0] == 0);
  return serial;
}

}  // namespace mirrorca::ca
