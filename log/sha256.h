// SHA-256 through OpenSSL, the only hash the log uses (Merkle tree, event
// chain, key ids). The digest algorithm is fetched once per process.
//
// Thread-safety: all functions are safe to call concurrently.
#ifndef MIRRORCA_LOG_SHA256_H_
#define MIRRORCA_LOG_SHA256_H_

#include <array>
#include <cstdint>
#include <initializer_list>

#include "base/bytes.h"

namespace mirrorca::log {

using Hash = std::array<uint8_t, 32>;

// Sha256 returns SHA-256 of the concatenation of `parts`.
Hash Sha256(std::initializer_list<ByteSpan> parts);
inline Hash Sha256(ByteSpan data) { return Sha256({data}); }

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_SHA256_H_
