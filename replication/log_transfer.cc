#include "replication/log_transfer.h"

#include <capnp/message.h>

#include <algorithm>
#include <future>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "log/merkle.h"
#include "log/signed_note.h"
#include "replication/package.h"

namespace mirrorca::replication {
namespace {

constexpr std::pair<RefusalKind, std::string_view> kCodes[] = {
    {RefusalKind::kFork, "fork"},
    {RefusalKind::kRewind, "rewind"},
    {RefusalKind::kBadSignature, "bad-signature"},
    {RefusalKind::kGap, "gap"},
    {RefusalKind::kBadProof, "bad-proof"},
    {RefusalKind::kMalformed, "malformed"},
    {RefusalKind::kIdentity, "identity"},
    {RefusalKind::kBusy, "busy"},
    {RefusalKind::kVersion, "version"},
    {RefusalKind::kInternal, "internal"},
    {RefusalKind::kAuthority, "authority"},
};

void SetProof(capnp::List<capnp::Data>::Builder out, const std::vector<crypto::Hash>& proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    out.set(static_cast<unsigned>(i), capnp::Data::Reader(proof[i].data(), proof[i].size()));
  }
}

Result<std::vector<crypto::Hash>> GetProof(capnp::List<capnp::Data>::Reader in) {
  if (in.size() > 128) return Status::InvalidArgument("proof too long");
  std::vector<crypto::Hash> out(in.size());
  for (unsigned i = 0; i < in.size(); ++i) {
    if (in[i].size() != out[i].size()) return Status::InvalidArgument("proof hash not 32 bytes");
    std::copy(in[i].begin(), in[i].end(), out[i].begin());
  }
  return out;
}

}  // namespace

std::string_view RefusalCode(RefusalKind kind) {
  for (const auto& [k, code] : kCodes) {
    if (k == kind) return code;
  }
  return "internal";
}

RefusalKind RefusalFromCode(std::string_view code) {
  for (const auto& [k, c] : kCodes) {
    if (c == code) return k;
  }
  return RefusalKind::kMalformed;
}

bool IsDivergence(RefusalKind kind) {
  switch (kind) {
    case RefusalKind::kFork:
    case RefusalKind::kRewind:
    case RefusalKind::kBadSignature:
    case RefusalKind::kGap:
    case RefusalKind::kBadProof:
    case RefusalKind::kAuthority:
      return true;
    default:
      return false;
  }
}

Result<TransferStats> SendLog(FrameChannel& channel, log::EventLog& log, uint64_t from,
                              const std::string& note, const SendOptions& options) {
  ASSIGN_OR_RETURN(log::Checkpoint cp, log::OpenCheckpoint(note, *log.keys()));
  const uint64_t n = cp.tree_size;
  if (n > log.Size()) return Status::Internal("checkpoint beyond the log");
  TransferStats stats;
  stats.tree_size = n;
  {
    capnp::MallocMessageBuilder m;
    auto offer = m.initRoot<wire::Message>().initCheckpoint();
    offer.setNote(note);
    offer.setProofFrom(from);
    if (from > 0 && from < n) {
      ASSIGN_OR_RETURN(std::vector<crypto::Hash> proof, log.ConsistencyProof(from, n));
      SetProof(offer.initConsistency(static_cast<unsigned>(proof.size())), proof);
    }
    RETURN_IF_ERROR(channel.Send(m));
  }
  uint64_t seq = std::min(from, n);
  std::vector<std::string> events;
  while (seq < n) {
    events.clear();
    size_t bytes = 0;
    const uint64_t limit = std::min<uint64_t>(n, seq + options.package_events);
    Status s = log.ForEach(seq, limit, [&](uint64_t at, std::string_view e) -> Status {
      if (at != seq + events.size()) return Status::Corruption("own log has a gap at " + std::to_string(at));
      events.emplace_back(e);
      bytes += e.size() + 4;
      if (bytes >= options.package_bytes) return Status::OutOfRange("package full");
      return Status::Ok();
    });
    if (!s.ok() && s.code() != StatusCode::kOutOfRange) return s;
    if (events.empty()) return Status::Corruption("own log has no event " + std::to_string(seq));
    const uint64_t end = seq + events.size();
    ASSIGN_OR_RETURN(EncodedEntries entries, CompressEntries(events));
    capnp::MallocMessageBuilder m(entries.compressed.size() / 8 + 64);
    auto p = m.initRoot<wire::Message>().initPackage();
    p.setFirstSeq(seq);
    p.setCount(static_cast<uint32_t>(events.size()));
    p.setRawSize(entries.raw_size);
    p.setEntries(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(entries.compressed.data()),
                                     entries.compressed.size()));
    if (end < n) {
      ASSIGN_OR_RETURN(std::vector<crypto::Hash> proof, log.ConsistencyProof(end, n));
      SetProof(p.initConsistency(static_cast<unsigned>(proof.size())), proof);
    }
    RETURN_IF_ERROR(channel.Send(m));
    stats.events += events.size();
    stats.packages++;
    seq = end;
    if (options.progress) options.progress(seq - std::min(from, n), n - std::min(from, n));
  }
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Message>().initCommit().setTreeSize(n);
  RETURN_IF_ERROR(channel.Send(m));
  return stats;
}

LogReceiver::LogReceiver(log::EventLog* copy, Mode mode, Progress progress, EventCheck check)
    : copy_(copy), mode_(mode), progress_(std::move(progress)), check_(std::move(check)) {}

Status LogReceiver::Refuse(RefusalKind kind, std::string detail) {
  Refused r;
  r.kind = kind;
  r.detail = detail;
  if (IsDivergence(kind)) {
    Result<std::string> held = copy_->LatestCheckpoint();
    if (held.ok()) r.evidence.push_back(*held);
    if (!note_.empty()) r.evidence.push_back(note_);
  }
  refused_ = std::move(r);
  const std::string msg = std::string(RefusalCode(kind)) + ": " + detail;
  switch (kind) {
    case RefusalKind::kMalformed:
    case RefusalKind::kVersion:
      return Status::InvalidArgument(msg);
    case RefusalKind::kIdentity:
      return Status::PermissionDenied(msg);
    case RefusalKind::kBusy:
      return Status::Unavailable(msg);
    case RefusalKind::kInternal:
      return Status::Internal(msg);
    default:
      return Status::Corruption(msg);
  }
}

Result<std::string> LogReceiver::Receive(FrameChannel& channel) {
  while (true) {
    Result<std::unique_ptr<Frame>> frame = channel.Receive();
    if (!frame.ok()) {
      Status committed_before = FinishCommit();  // what was verified stays
      if (!committed_before.ok()) return committed_before;
      if (frame.status().code() == StatusCode::kInvalidArgument) {
        return Refuse(RefusalKind::kMalformed, frame.status().message());
      }
      return frame.status();
    }
    bool committed = false;
    Status s = ReadGuarded([&]() -> Status {
      wire::Message::Reader m = (*frame)->message();
      switch (m.which()) {
        case wire::Message::CHECKPOINT:
          return OnCheckpoint(m.getCheckpoint());
        case wire::Message::PACKAGE:
          return OnPackage(m.getPackage());
        case wire::Message::COMMIT:
          committed = true;
          return OnCommit(m.getCommit());
        case wire::Message::REFUSAL: {
          Refused r;
          r.kind = RefusalFromCode(m.getRefusal().getCode().cStr());
          r.detail = std::string("peer refused: ") + m.getRefusal().getDetail().cStr();
          refused_ = r;
          return Status::FailedPrecondition(r.detail);
        }
        default:
          return Refuse(RefusalKind::kMalformed, "unexpected message during a log transfer");
      }
    });
    if (!s.ok()) {
      (void)FinishCommit();
      if (!refused_) return Refuse(RefusalKind::kMalformed, s.message());
      return s;
    }
    if (committed) return note_;
  }
}

Status LogReceiver::OnCheckpoint(wire::CheckpointOffer::Reader offer) {
  if (offered_) return Refuse(RefusalKind::kMalformed, "second checkpoint in one transfer");
  note_ = offer.getNote().cStr();
  Result<log::Checkpoint> cp = log::OpenCheckpoint(note_, *copy_->keys());
  checkpoint_signed_ = cp.ok();
  if (!cp.ok() && cp.status().code() == StatusCode::kCorruption) {
    // Not the key in force at the copy's end: acceptable only for a tree
    // beyond the copy, whose events may rotate the key (checked at commit).
    Result<log::SignedNote> parsed = log::SignedNote::Parse(note_);
    Result<log::Checkpoint> text = parsed.ok() ? log::Checkpoint::ParseText(parsed->text)
                                               : Result<log::Checkpoint>(parsed.status());
    if (text.ok() && text->origin == copy_->origin() && text->tree_size > copy_->Size()) cp = std::move(text);
  }
  if (!cp.ok()) {
    return Refuse(cp.status().code() == StatusCode::kCorruption ? RefusalKind::kBadSignature
                                                                 : RefusalKind::kMalformed,
                  "checkpoint: " + cp.status().message());
  }
  checkpoint_ = *cp;
  offered_ = true;
  const uint64_t n = cp->tree_size;
  const uint64_t held = copy_->Size();
  held_at_offer_ = held;
  next_ = held;
  stats_.tree_size = n;
  if (n <= held) {
    if (n < held && mode_ == Mode::kSession) {
      return Refuse(RefusalKind::kRewind, "checkpoint of size " + std::to_string(n) +
                                              " but this node already holds " +
                                              std::to_string(held) + " events of the log");
    }
    if (n > 0) {
      Result<crypto::Hash> root = copy_->RootAt(n);
      if (!root.ok()) return Refuse(RefusalKind::kInternal, root.status().message());
      if (*root != cp->root_hash) {
        return Refuse(RefusalKind::kFork, "checkpoint of size " + std::to_string(n) +
                                              " has a different root than the copy held here");
      }
    }
    next_ = n;  // nothing to receive
  } else if (held > 0) {
    const uint64_t from = offer.getProofFrom();
    if (from == held) {
      ASSIGN_OR_RETURN(std::vector<crypto::Hash> proof, GetProof(offer.getConsistency()));
      Result<crypto::Hash> root = copy_->RootAt(held);
      if (!root.ok()) return Refuse(RefusalKind::kInternal, root.status().message());
      if (!log::VerifyConsistency(held, n, *root, cp->root_hash, proof).ok()) {
        return Refuse(RefusalKind::kFork, "checkpoint of size " + std::to_string(n) +
                                              " is not consistent with the " +
                                              std::to_string(held) + " events held here");
      }
    } else if (mode_ == Mode::kSession || from > held) {
      return Refuse(from > held ? RefusalKind::kGap : RefusalKind::kBadProof,
                    "consistency proof from " + std::to_string(from) + " but " +
                        std::to_string(held) + " events are held here");
    }
    // A bundle starting before `held`: its events must rebuild the signed
    // root from this copy's prefix (checked on the last package).
  }
  Result<log::EventLog::ImportPoint> at = copy_->ImportTail();
  if (!at.ok()) {
    return Refuse(at.status().code() == StatusCode::kFailedPrecondition ? RefusalKind::kBusy
                                                                         : RefusalKind::kInternal,
                  at.status().message());
  }
  at_ = std::move(*at);
  return Status::Ok();
}

Status LogReceiver::OnPackage(wire::Package::Reader package) {
  if (!offered_) return Refuse(RefusalKind::kMalformed, "package before a checkpoint");
  const uint64_t first = package.getFirstSeq();
  const uint32_t count = package.getCount();
  const uint64_t n = checkpoint_.tree_size;
  if (count == 0 || first > n || count > n - first) {
    return Refuse(RefusalKind::kMalformed, "package [" + std::to_string(first) + ", +" +
                                               std::to_string(count) + ") outside the checkpoint");
  }
  if (first > next_) {
    return Refuse(RefusalKind::kGap, "package starts at seq " + std::to_string(first) +
                                         " but the next event needed is " + std::to_string(next_));
  }
  auto entries = package.getEntries();
  Result<std::vector<std::string>> events =
      DecompressEntries(ByteSpan(entries.begin(), entries.size()), package.getRawSize(), count);
  if (!events.ok()) return Refuse(RefusalKind::kMalformed, events.status().message());
  Result<std::vector<crypto::Hash>> proof = GetProof(package.getConsistency());
  if (!proof.ok()) return Refuse(RefusalKind::kMalformed, proof.status().message());
  const uint64_t end = first + count;
  if (end <= next_) {
    stats_.skipped += count;
    return Status::Ok();
  }
  const uint64_t held = next_ - first;
  stats_.skipped += held;
  events->erase(events->begin(), events->begin() + static_cast<std::ptrdiff_t>(held));
  RETURN_IF_ERROR(Apply(std::move(*events), *proof));
  if (progress_) progress_(next_ - held_at_offer_, n - held_at_offer_);
  return Status::Ok();
}

Status LogReceiver::Apply(std::vector<std::string> events, const std::vector<crypto::Hash>& proof) {
  const uint64_t n = checkpoint_.tree_size;
  const size_t count = events.size();
  bool root_failed = false;
  auto check_root = [&](uint64_t size, const crypto::Hash& root) -> Status {
    Status s = size == n ? (root == checkpoint_.root_hash
                                ? Status::Ok()
                                : Status::Corruption("root differs from the checkpoint's"))
                         : log::VerifyConsistency(size, n, root, checkpoint_.root_hash, proof);
    if (!s.ok()) root_failed = true;
    return s;
  };
  const std::string at = "events [" + std::to_string(next_) + ", " +
                         std::to_string(next_ + count) + "): ";
  // Verify this package (all cores) while the previous one commits.
  Result<log::EventLog::PreparedImport> prepared =
      copy_->PrepareImport(std::move(events), *at_, check_root);
  if (!prepared.ok()) {
    const Status& s = prepared.status();
    RETURN_IF_ERROR(FinishCommit());
    if (root_failed) {
      return Refuse(RefusalKind::kBadProof, at + "not in the offered checkpoint: " + s.message());
    }
    if (s.code() == StatusCode::kCorruption) {
      return Refuse(s.message().find("signature") != std::string::npos ? RefusalKind::kBadSignature
                                                                      : RefusalKind::kBadProof,
                    at + s.message());
    }
    if (s.code() == StatusCode::kInvalidArgument) {
      return Refuse(s.message().find("gap or replay") != std::string::npos ? RefusalKind::kGap
                                                                          : RefusalKind::kMalformed,
                    at + s.message());
    }
    return Refuse(RefusalKind::kInternal, at + s.message());
  }
  if (check_) {  // verified: now whether this log may say it
    const std::vector<std::string>& verified = prepared->events();
    for (size_t i = 0; i < verified.size(); ++i) {
      if (std::optional<std::string> why = check_(next_ + i, verified[i])) {
        RETURN_IF_ERROR(FinishCommit());
        Status refused = Refuse(RefusalKind::kAuthority, "event " + std::to_string(next_ + i) + ": " + *why);
        refused_->evidence.push_back("event " + std::to_string(next_ + i) + " (signed, base64): " +
                                     Base64Encode(AsBytes(verified[i])));
        return refused;
      }
    }
  }
  RETURN_IF_ERROR(FinishCommit());
  if (mode_ != Mode::kDryRun) {
    log::EventLog* copy = copy_;
    inflight_ = std::async(std::launch::async, [copy, p = std::move(*prepared)]() mutable {
      return copy->CommitImport(std::move(p)).status();
    });
  }
  next_ += count;
  stats_.events += count;
  stats_.packages++;
  return Status::Ok();
}

Status LogReceiver::FinishCommit() {
  if (!inflight_.valid()) return Status::Ok();
  Status s = inflight_.get();
  if (s.ok()) return s;
  return Refuse(s.code() == StatusCode::kFailedPrecondition ? RefusalKind::kBusy
                                                            : RefusalKind::kInternal,
                "commit: " + s.message());
}

Status LogReceiver::OnCommit(wire::Commit::Reader commit) {
  if (!offered_) return Refuse(RefusalKind::kMalformed, "commit before a checkpoint");
  const uint64_t n = checkpoint_.tree_size;
  if (commit.getTreeSize() != n) {
    return Refuse(RefusalKind::kMalformed, "commit of size " + std::to_string(commit.getTreeSize()) +
                                               " for a checkpoint of size " + std::to_string(n));
  }
  RETURN_IF_ERROR(FinishCommit());
  if (next_ < n) {
    return Refuse(RefusalKind::kGap, "transfer ended at seq " + std::to_string(next_) +
                                         " before the checkpoint size " + std::to_string(n));
  }
  if (!checkpoint_signed_) {
    const log::KeyHistory& keys = at_ && at_->keys ? *at_->keys : *copy_->keys();
    Result<log::Checkpoint> signed_cp = log::OpenCheckpoint(note_, keys);
    if (!signed_cp.ok()) {
      return Refuse(RefusalKind::kBadSignature, "checkpoint: " + signed_cp.status().message() +
                                                    " (not the key in force at its size)");
    }
    checkpoint_signed_ = true;
  }
  // Keep a checkpoint already stored at this size or above (it may carry
  // HQ's cosignature; the roots were just checked to agree).
  Result<std::string> latest = copy_->LatestCheckpoint();
  Result<log::Checkpoint> held = latest.ok() ? log::OpenCheckpoint(*latest, *copy_->keys())
                                             : Result<log::Checkpoint>(latest.status());
  const bool covered = held.ok() && held->tree_size >= n;
  if (mode_ != Mode::kDryRun && n > 0 && !covered) {
    Status s = copy_->StoreCheckpoint(note_);
    if (!s.ok()) return Refuse(RefusalKind::kInternal, "store checkpoint: " + s.message());
  }
  return Status::Ok();
}

Status SendRefusal(FrameChannel& channel, RefusalKind kind, const std::string& detail) {
  capnp::MallocMessageBuilder m;
  auto r = m.initRoot<wire::Message>().initRefusal();
  r.setCode(std::string(RefusalCode(kind)));
  r.setDetail(detail);
  return channel.Send(m);
}

Status PeerRefused(wire::Refusal::Reader refusal, const std::string& peer, std::optional<Refused>* out) {
  Refused r;
  r.kind = RefusalFromCode(refusal.getCode().cStr());
  r.detail = refusal.getDetail().cStr();
  if (out != nullptr) *out = r;
  return Status::FailedPrecondition(peer + " refused: " + std::string(RefusalCode(r.kind)) + ": " + r.detail);
}

}  // namespace mirrorca::replication
