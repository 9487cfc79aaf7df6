// AnswerCache: OCSP answers kept in memory by the request's bytes, within a
// byte budget whatever the traffic (keys, answers and bookkeeping counted).
//
// The budget is split over 16 shards, each with its own lock and two
// generations: an answer goes into the newer one; when that is full it
// becomes the older one and the old older one is dropped; an answer asked
// for again moves back to the newer one (so hot answers survive). Sharding
// keeps both costs small on a fleet of millions, where nearly every request
// misses and inserts: threads rarely wait for each other, and a generation
// swap frees a sixteenth of the cache — outside the lock — instead of all of
// it at once on one request.
//
// Answers that are cheap to find again (signed ahead, a lookup away) are
// admitted freely while a shard has never been full; once it has swapped
// generations, only when asked for twice within a short window (`Admit`: a
// doorkeeper of 2^17 request fingerprints, 512 KiB). A fleet that fits is
// then held whole from its first pass, while requests spread uniformly over
// a fleet of millions leave the cache alone instead of churning it for hits
// it would rarely give; a hot set is still admitted on its second request.
//
// Thread-safety: every method may be called concurrently.
#ifndef MIRRORCA_VALIDATION_ANSWER_CACHE_H_
#define MIRRORCA_VALIDATION_ANSWER_CACHE_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "validation/ocsp_answer.h"

namespace mirrorca::validation {

class AnswerCache {
 public:
  explicit AnswerCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  AnswerCache(const AnswerCache&) = delete;
  AnswerCache& operator=(const AnswerCache&) = delete;

  // What makes a held answer usable now: stored under the responder's
  // current generation (Invalidate bumps it), signed at most `max_age`
  // seconds before `now`, and not in the future.
  struct Freshness {
    uint64_t generation = 0;
    int64_t now = 0;
    int64_t max_age = 0;
  };
  // Find returns the fresh answer held for `request`, or nullopt.
  std::optional<OcspAnswer> Find(std::string_view request, const Freshness& fresh);
  // Admit says whether to hold the answer to `request`: yes while its
  // shard has never been full, else when it was seen recently (it is
  // remembered now) — the second request within about 2^17 others.
  bool Admit(std::string_view request);
  // Put holds `answer` for `request` (stored under `generation`), unless
  // the entry alone exceeds half a shard's budget.
  void Put(std::string_view request, const OcspAnswer& answer, uint64_t generation);

  size_t bytes() const;    // what both generations of every shard hold
  size_t entries() const;
  size_t max_bytes() const { return max_bytes_; }

  // EntryBytes: what an entry is charged (key and answer bytes, the etag,
  // and the map node with its strings).
  static size_t EntryBytes(std::string_view request, const OcspAnswer& answer) {
    return request.size() + answer.der.size() + answer.etag.size() + 160;
  }

 private:
  static constexpr size_t kShards = 16;
  // Maps are searched by string_view: no copy of the key on a lookup.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  struct Entry {
    OcspAnswer answer;
    uint64_t generation = 0;
  };
  using Map = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;
  struct Shard {
    mutable std::mutex mu;
    Map newer, older;                                     // guarded by mu
    size_t newer_bytes = 0, older_bytes = 0;              // guarded by mu
    std::atomic<bool> swapped{false};                     // it has been full once
  };
  Shard& ShardOf(size_t hash) { return shards_[hash % kShards]; }
  size_t HalfShard() const { return std::max<size_t>(max_bytes_ / kShards / 2, 1); }
  // Insert adds an entry to the newer generation of `s` (whose lock the
  // caller holds), swapping generations first when it would not fit; the
  // generation dropped goes to `dropped`, for the caller to free unlocked.
  void Insert(Shard& s, std::string key, Entry entry, size_t bytes, Map* dropped);

  const size_t max_bytes_;
  std::array<Shard, kShards> shards_;
  static constexpr size_t kDoorkeeperSlots = size_t{1} << 17;
  std::unique_ptr<std::atomic<uint32_t>[]> doorkeeper_{new std::atomic<uint32_t>[kDoorkeeperSlots]()};
};

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_ANSWER_CACHE_H_
