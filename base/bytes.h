// Byte helpers: the Bytes type and big-endian integer encoding used in
// storage keys and wire formats (big-endian so that keys sort numerically).
//
// Thread-safety: pure functions.
#ifndef MIRRORCA_BASE_BYTES_H_
#define MIRRORCA_BASE_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mirrorca {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline std::string ToString(ByteSpan b) { return std::string(AsChars(b)); }
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// PutBigEndian64 appends `v` as 8 big-endian bytes to `out`.
inline void PutBigEndian64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
// GetBigEndian64 reads 8 big-endian bytes; `in` must hold at least 8.
inline uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[static_cast<size_t>(i)]);
  return v;
}

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_BYTES_H_
