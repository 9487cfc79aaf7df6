// Certificate serial numbers: 128 bits from OpenSSL's CSPRNG (RFC 5280
// §4.1.2.2 and CA/B BR: at least 64 random bits, positive, at most 20
// octets). Uniqueness per CA is the caller's check (engine/ keeps the set).
//
// Thread-safety: safe from any thread (RAND_bytes is thread-safe; each
// thread keeps its own pool of drawn bytes, emptied in a forked child).
#ifndef MIRRORCA_CA_SERIAL_H_
#define MIRRORCA_CA_SERIAL_H_

#include "base/bytes.h"
#include "base/result.h"

namespace mirrorca::ca {

inline constexpr size_t kSerialBytes = 16;

// RandomSerial returns 16 big-endian bytes whose first byte is in 0x01..0x7f,
// so the DER INTEGER is positive and exactly 16 octets long.
Result<Bytes> RandomSerial();

}  // namespace mirrorca::ca

#endif  // MIRRORCA_CA_SERIAL_H_
