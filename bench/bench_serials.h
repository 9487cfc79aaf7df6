// BenchSerial: the i-th synthetic certificate serial of the benchmarks that
// build fleets without issuing (crl_bench, ocsp_fleet): 16 bytes, positive,
// no leading zero byte (so every DER INTEGER has the same length), distinct
// for every i (a bijective mix of i). Pure function; thread-safe.
#ifndef MIRRORCA_BENCH_BENCH_SERIALS_H_
#define MIRRORCA_BENCH_BENCH_SERIALS_H_

#include <cstdint>

#include "base/bytes.h"

namespace mirrorca::bench {

inline Bytes BenchSerial(uint64_t i) {
  Bytes s(16);
  uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;
  for (int k = 0; k < 16; ++k) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    s[k] = static_cast<uint8_t>(x >> 56);
  }
  s[0] = static_cast<uint8_t>((s[0] & 0x7f) | 0x01);
  return s;
}

}  // namespace mirrorca::bench

#endif  // MIRRORCA_BENCH_BENCH_SERIALS_H_
