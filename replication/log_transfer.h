// Log transfer: one direction of a sync round (or the body of a bundle) —
// the owner of a log streams it to a node holding a mirror copy, modelled on
// C2SP tlog-mirror:
//
//   CheckpointOffer (signed checkpoint of size N, consistency proof from the
//   size the receiver holds) → Package* (events [from, N) in order, each with
//   the consistency proof from its end to N) → Commit{N}.
//
// The receiver checks the checkpoint against what it holds before any entry
// (fork: same size, other root, or no consistency; rewind: smaller than
// held), then verifies every package — event signatures, chain, and the
// root after it against the checkpoint — before storing it durably. Entries
// it already holds are skipped, so re-sending is harmless; a package that
// starts past what it holds is a gap. On Commit it stores the checkpoint.
//
// Thread-safety: a LogReceiver is used by one thread; imports into one copy
// must be serialized by the caller (EventLog::AppendVerified).
#ifndef MIRRORCA_REPLICATION_LOG_TRANSFER_H_
#define MIRRORCA_REPLICATION_LOG_TRANSFER_H_

#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "log/checkpoint.h"
#include "log/event_log.h"
#include "replication/channel.h"

namespace mirrorca::replication {

using Progress = std::function<void(uint64_t done, uint64_t total)>;

// Why a peer or a transfer is refused; the code is stable (Refusal.code).
enum class RefusalKind {
  kFork,          // same size with another root, or a checkpoint not consistent with what is held
  kRewind,        // a checkpoint smaller than what the receiver already holds
  kBadSignature,  // an event or checkpoint signature does not verify
  kGap,           // entries missing (a package past what is held, a short transfer)
  kBadProof,      // a package's consistency proof or chain does not hold
  kMalformed,     // a frame or message that does not parse or breaks the protocol
  kIdentity,      // TLS identity not bound to the log the peer names
  kBusy,          // another session for the same log is running
  kVersion,       // unsupported protocol version
  kInternal,      // the receiver could not store (I/O)
  kAuthority,     // a validly signed event the log may not carry (engine/log_authority.h)
};
std::string_view RefusalCode(RefusalKind kind);
// RefusalFromCode maps a code received from a peer back (kMalformed if unknown).
RefusalKind RefusalFromCode(std::string_view code);
// IsDivergence reports whether `kind` is evidence against the peer's log
// (fork, rewind, bad signature, gap, bad proof, authority) rather than a
// transport or configuration problem.
bool IsDivergence(RefusalKind kind);

struct Refused {
  RefusalKind kind = RefusalKind::kInternal;
  std::string detail;
  std::vector<std::string> evidence;  // checkpoint notes: the one held, the one offered
};

// SendRefusal tells the peer why this side stops: a Refusal frame with the
// kind's code and the detail (the caller decides what else to record).
Status SendRefusal(FrameChannel& channel, RefusalKind kind, const std::string& detail);
inline Status SendRefusal(FrameChannel& channel, const Refused& r) { return SendRefusal(channel, r.kind, r.detail); }
// PeerRefused turns a Refusal frame received from `peer` ("HQ", "the
// factory") into a failed Status, and records it in `out` when given.
Status PeerRefused(wire::Refusal::Reader refusal, const std::string& peer, std::optional<Refused>* out = nullptr);

// EventCheck: what the receiver allows the log to carry (at HQ: the log
// authority). It sees every event after its signature, chain and proof have
// verified and before it is stored; a returned message refuses the whole
// transfer (kAuthority), with the offending event as evidence.
using EventCheck = std::function<std::optional<std::string>(uint64_t seq, std::string_view signed_event)>;

struct TransferStats {
  uint64_t tree_size = 0;      // size of the offered checkpoint
  uint64_t events = 0;         // events sent / newly stored
  uint64_t skipped = 0;        // receiver: events already held
  uint64_t packages = 0;
};

struct SendOptions {
  size_t package_events = 4096;
  size_t package_bytes = 4 << 20;  // raw bytes before compression
  Progress progress;
};

// SendLog streams `log` from seq `from` up to the checkpoint `note` (signed
// by the log's key; its size N <= log.Size()).
Result<TransferStats> SendLog(FrameChannel& channel, log::EventLog& log, uint64_t from,
                              const std::string& note, const SendOptions& options = {});

class LogReceiver {
 public:
  enum class Mode {
    kSession,  // live sync: the offer must prove consistency from the held size; no rewind
    kBundle,   // a file: may start before the held size, may be older than it (no-op)
    kDryRun,   // verify a bundle fully without storing anything
  };
  // `copy` (a mirror copy, opened without a signer) must outlive the receiver.
  LogReceiver(log::EventLog* copy, Mode mode, Progress progress = nullptr, EventCheck check = nullptr);

  // Receive reads frames from `channel` up to Commit and applies the
  // transfer. Returns the checkpoint note now stored (the offered one). On
  // failure refused() says why; packages verified and stored before the
  // failure stay (each was proven to be in the offered, signed checkpoint).
  Result<std::string> Receive(FrameChannel& channel);

  const std::optional<Refused>& refused() const { return refused_; }
  const TransferStats& stats() const { return stats_; }

 private:
  Status OnCheckpoint(wire::CheckpointOffer::Reader offer);
  Status OnPackage(wire::Package::Reader package);
  Status OnCommit(wire::Commit::Reader commit);
  Status Refuse(RefusalKind kind, std::string detail);
  Status Apply(std::vector<std::string> events, const std::vector<crypto::Hash>& proof);
  // FinishCommit waits for the package being committed in the background.
  Status FinishCommit();

  log::EventLog* const copy_;
  const Mode mode_;
  const Progress progress_;
  const EventCheck check_;
  std::optional<Refused> refused_;
  TransferStats stats_;

  std::string note_;            // the offered checkpoint
  log::Checkpoint checkpoint_;
  // False while the checkpoint's signature waits for the events it covers:
  // a key rotation among them hands the checkpoint to the next key, which
  // the copy learns only from the verified rotation event. Checked before
  // the checkpoint is stored or acknowledged (OnCommit).
  bool checkpoint_signed_ = false;
  bool offered_ = false;
  uint64_t held_at_offer_ = 0;  // copy size when the offer arrived
  uint64_t next_ = 0;           // next seq the receiver needs
  // The chain and frontier the next package must continue.
  std::optional<log::EventLog::ImportPoint> at_;
  std::future<Status> inflight_;  // the previous package's commit
};

}  // namespace mirrorca::replication

#endif  // MIRRORCA_REPLICATION_LOG_TRANSFER_H_
