#include "replication/package.h"

#include <zstd.h>

#include <cstring>

namespace mirrorca::replication {
namespace {

constexpr int kZstdLevel = 1;  // fast: events are mostly hashes and signatures

void PutU32(std::string& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}

uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Result<EncodedEntries> CompressEntries(const std::vector<std::string>& events) {
  if (events.size() > kMaxPackageEvents) {
    return Status::InvalidArgument("package of " + std::to_string(events.size()) + " events");
  }
  std::string raw;
  size_t total = 0;
  for (const std::string& e : events) total += 4 + e.size();
  if (total > kMaxPackageRawBytes) {
    return Status::InvalidArgument("package of " + std::to_string(total) + " bytes");
  }
  raw.reserve(total);
  for (const std::string& e : events) {
    if (e.size() > kMaxEventBytes) return Status::InvalidArgument("event too large to replicate");
    PutU32(raw, static_cast<uint32_t>(e.size()));
    raw += e;
  }
  EncodedEntries out;
  out.raw_size = static_cast<uint32_t>(raw.size());
  out.compressed.resize(ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compress(out.compressed.data(), out.compressed.size(), raw.data(), raw.size(),
                           kZstdLevel);
  if (ZSTD_isError(n)) {
    return Status::Internal(std::string("zstd compress: ") + ZSTD_getErrorName(n));
  }
  out.compressed.resize(n);
  return out;
}

Result<std::vector<std::string>> DecompressEntries(ByteSpan compressed, uint32_t raw_size,
                                                   uint32_t count) {
  if (count == 0 || count > kMaxPackageEvents) {
    return Status::InvalidArgument("package announces " + std::to_string(count) + " events");
  }
  if (raw_size > kMaxPackageRawBytes || raw_size < 4ull * count) {
    return Status::InvalidArgument("package announces " + std::to_string(raw_size) + " bytes");
  }
  unsigned long long content = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content != raw_size) {
    return Status::InvalidArgument("package entries are not one zstd frame of the announced size");
  }
  std::string raw(raw_size, '\0');
  size_t n = ZSTD_decompress(raw.data(), raw.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != raw_size) {
    return Status::InvalidArgument(std::string("package entries do not decompress: ") +
                                   (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
  }
  std::vector<std::string> events;
  events.reserve(count);
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  size_t off = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (raw.size() - off < 4) return Status::InvalidArgument("package entry header truncated");
    const uint32_t len = GetU32(p + off);
    off += 4;
    if (len == 0 || len > kMaxEventBytes || len > raw.size() - off) {
      return Status::InvalidArgument("package entry " + std::to_string(i) + " has a bad length");
    }
    events.emplace_back(raw.data() + off, len);
    off += len;
  }
  if (off != raw.size()) return Status::InvalidArgument("package has bytes after its entries");
  return events;
}

}  // namespace mirrorca::replication
