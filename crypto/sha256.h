// SHA-256 through OpenSSL, the only hash the log uses (Merkle tree, event
// chain, key ids). The digest algorithm is fetched once per process.
//
// Thread-safety: all functions are safe to call concurrently.
#ifndef MIRRORCA_CRYPTO_SHA256_H_
#define MIRRORCA_CRYPTO_SHA256_H_

#include <array>
#include <cstdint>
#include <initializer_list>

#include <openssl/evp.h>

#include "base/bytes.h"

namespace mirrorca::crypto {

using Hash = std::array<uint8_t, 32>;

// Sha256 returns SHA-256 of the concatenation of `parts`.
Hash Sha256(std::initializer_list<ByteSpan> parts);
inline Hash Sha256(ByteSpan data) { return Sha256({data}); }

// Sha256Stream hashes data given in pieces (a file as it is written or
// read). Not thread-safe: one owner.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteSpan data);
  // Peek returns the digest of everything so far; hashing may continue.
  Hash Peek() const;

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_SHA256_H_
