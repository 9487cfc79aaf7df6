#include "validation/answer_cache.h"

#include <algorithm>
#include <functional>

namespace mirrorca::validation {
namespace {

bool IsFresh(const OcspAnswer& a, uint64_t held_generation, const AnswerCache::Freshness& f) {
  return held_generation == f.generation && f.now - a.this_update < f.max_age && f.now >= a.this_update;
}

}  // namespace

bool AnswerCache::Admit(std::string_view request) {
  const uint64_t h = KeyHash{}(request);
  if (!ShardOf(h).swapped.load(std::memory_order_relaxed)) return true;
  const uint32_t fingerprint = static_cast<uint32_t>(h >> 32) | 1;  // 0: an empty slot
  std::atomic<uint32_t>& slot = doorkeeper_[h % kDoorkeeperSlots];
  return slot.exchange(fingerprint, std::memory_order_relaxed) == fingerprint;
}

void AnswerCache::Insert(Shard& s, std::string key, Entry entry, size_t bytes,
                         Map* dropped) {
  if (s.newer_bytes + bytes > HalfShard()) {  // the newer half is full: it becomes the older one
    s.swapped.store(true, std::memory_order_relaxed);
    *dropped = std::move(s.older);
    s.older = std::move(s.newer);
    s.older_bytes = s.newer_bytes;
    s.newer = {};
    s.newer_bytes = 0;
  }
  s.newer.emplace(std::move(key), std::move(entry));
  s.newer_bytes += bytes;
}

std::optional<OcspAnswer> AnswerCache::Find(std::string_view request, const Freshness& fresh) {
  const size_t hash = KeyHash{}(request);
  Shard& s = ShardOf(hash);
  Map dropped;  // freed after the lock is released
  std::lock_guard lock(s.mu);
  if (auto it = s.newer.find(request); it != s.newer.end()) {
    if (!IsFresh(it->second.answer, it->second.generation, fresh)) return std::nullopt;
    return it->second.answer;
  }
  auto old = s.older.find(request);
  if (old == s.older.end()) return std::nullopt;
  // Asked for again: it moves to the newer generation (or goes, if stale).
  auto node = s.older.extract(old);
  std::string key = std::move(node.key());
  Entry moved = std::move(node.mapped());
  const size_t bytes = EntryBytes(request, moved.answer);
  s.older_bytes -= std::min(s.older_bytes, bytes);
  if (!IsFresh(moved.answer, moved.generation, fresh)) return std::nullopt;
  OcspAnswer answer = moved.answer;
  Insert(s, std::move(key), std::move(moved), bytes, &dropped);
  return answer;
}

void AnswerCache::Put(std::string_view request, const OcspAnswer& answer, uint64_t generation) {
  const size_t bytes = EntryBytes(request, answer);
  if (bytes > HalfShard()) return;
  Shard& s = ShardOf(KeyHash{}(request));
  Map dropped;  // freed after the lock is released
  std::string key(request);
  std::lock_guard lock(s.mu);
  if (auto old = s.older.find(request); old != s.older.end()) {
    s.older_bytes -= std::min(s.older_bytes, EntryBytes(request, old->second.answer));
    s.older.erase(old);
  }
  if (auto held = s.newer.find(request); held != s.newer.end()) {
    s.newer_bytes -= std::min(s.newer_bytes, EntryBytes(request, held->second.answer));
    s.newer.erase(held);
  }
  Insert(s, std::move(key), Entry{answer, generation}, bytes, &dropped);
}

size_t AnswerCache::bytes() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.newer_bytes + s.older_bytes;
  }
  return n;
}

size_t AnswerCache::entries() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.newer.size() + s.older.size();
  }
  return n;
}

}  // namespace mirrorca::validation
