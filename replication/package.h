// Package codec: the entries of one replication Package — consecutive signed
// events as count x (u32 big-endian length || SignedEvent bytes), compressed
// as one zstd frame. Decoding is bounded: the announced raw size, the event
// count and each event length are checked before anything is allocated or
// trusted.
//
// Thread-safety: pure functions.
#ifndef MIRRORCA_REPLICATION_PACKAGE_H_
#define MIRRORCA_REPLICATION_PACKAGE_H_

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace mirrorca::replication {

constexpr size_t kMaxPackageEvents = 8192;
constexpr size_t kMaxPackageRawBytes = 8 << 20;
constexpr size_t kMaxEventBytes = 1 << 20;

struct EncodedEntries {
  std::string compressed;
  uint32_t raw_size = 0;
};

// CompressEntries encodes and compresses `events` (at most kMaxPackageEvents,
// kMaxPackageRawBytes in total). InvalidArgument beyond the limits.
Result<EncodedEntries> CompressEntries(const std::vector<std::string>& events);

// DecompressEntries returns exactly `count` events from `compressed`, whose
// content must be exactly `raw_size` bytes. InvalidArgument for anything else.
Result<std::vector<std::string>> DecompressEntries(ByteSpan compressed, uint32_t raw_size,
                                                   uint32_t count);

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_PACKAGE_H_
