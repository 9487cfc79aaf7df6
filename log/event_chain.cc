#include "log/event_chain.h"

#include <algorithm>
#include <optional>

#include "base/parallel_for.h"
#include "base/status_macros.h"
#include "log/event_codec.h"
#include "log/merkle.h"

namespace mirrorca::log {
namespace {

constexpr size_t kParallelThreshold = 64;  // below this, one thread verifies

struct Checked {
  Status status;
  std::optional<ParsedEvent> event;
  uint64_t seq = 0;
  int64_t time = 0;
  Hash prev_hash{};
  Hash body_hash{};
};

// Decode checks what needs no key: framing, origin, prevHash length.
Checked Decode(const std::string& origin, const std::string& signed_event) {
  Checked c;
  Result<ParsedEvent> e = ParsedEvent::Parse(AsBytes(signed_event));
  if (!e.ok()) {
    c.status = e.status();
    return c;
  }
  if (e->event().getLogId() != origin) {
    c.status = Status::InvalidArgument("event of log '" + std::string(e->event().getLogId().cStr()) + "'");
    return c;
  }
  auto ph = e->event().getPrevHash();
  if (ph.size() != std::tuple_size_v<Hash>) {
    c.status = Status::Corruption("prevHash is not 32 bytes");
    return c;
  }
  std::copy(ph.begin(), ph.end(), c.prev_hash.begin());
  c.seq = e->seq();
  c.time = e->event().getTime();
  c.body_hash = BodyHash(e->body());
  c.event.emplace(std::move(*e));
  return c;
}

}  // namespace

Result<VerifiedEvents> VerifyContinuation(const KeyHistory& keys, const ChainTail& tail,
                                          const std::vector<std::string>& signed_events) {
  const size_t n = signed_events.size();
  std::vector<Checked> checked(n);
  VerifiedEvents out;
  out.leaf_hashes.resize(n);
  const unsigned threads = n >= kParallelThreshold ? HardwareThreads() : 1;
  ParallelFor(n, threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      checked[i] = Decode(keys.origin(), signed_events[i]);
      if (checked[i].status.ok()) out.leaf_hashes[i] = LeafHash(AsBytes(signed_events[i]));
    }
  });
  // The chain, in order; a rotation hands the following events to its key.
  KeyHistory after = keys;
  std::vector<std::optional<LogVerifier>> signer_of(n);
  ChainTail t = tail;
  for (size_t i = 0; i < n; ++i, ++t.next_seq) {
    const std::string at = "seq " + std::to_string(t.next_seq);
    RETURN_IF_ERROR(checked[i].status.WithContext(at));
    if (checked[i].seq != t.next_seq) {
      return Status::InvalidArgument(at + ": event carries seq " + std::to_string(checked[i].seq) +
                                     " (gap or replay)");
    }
    if (checked[i].prev_hash != t.prev_body_hash) {
      return Status::Corruption(at + ": prevHash does not chain to the previous event");
    }
    if (checked[i].time < t.time) return Status::Corruption(at + ": time goes backwards");
    t.prev_body_hash = checked[i].body_hash;
    t.time = checked[i].time;
    signer_of[i] = after.KeyAt(t.next_seq);
    Result<std::optional<LogVerifier>> next = RotationIn(checked[i].event->event());
    if (!next.ok()) return next.status().WithContext(at);
    if (*next) {
      RETURN_IF_ERROR(after.Rotate(t.next_seq, std::move(**next)).WithContext(at));
      out.rotations.push_back(t.next_seq);
    }
  }
  std::vector<Status> bad(n);
  ParallelFor(n, threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const ParsedEvent& e = *checked[i].event;
      if (!signer_of[i]->Verify(EventSigningInput(e.body()), e.signature())) {
        bad[i] = Status::Corruption("signature does not verify with the key of '" + keys.origin() +
                                    "' in force at seq " + std::to_string(e.seq()));
      }
    }
  });
  for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(bad[i].WithContext("seq " + std::to_string(tail.next_seq + i)));
  out.tail = t;
  out.keys = std::move(after);
  return out;
}

}  // namespace mirrorca::log
