#include "audit/issuance_proof.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "audit/replay_index.h"
#include "audit/store_logs.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/key_history.h"
#include "log/local_log.h"
#include "log/signed_note.h"

namespace mirrorca::audit {
namespace {

constexpr std::string_view kHeader = "c2sp.org/tlog-proof@v1";

Status Bad(const std::string& what) { return Status::InvalidArgument("proof file: " + what); }

// NextLine takes one "\n"-terminated line off `in`.
bool NextLine(std::string_view& in, std::string_view* line) {
  const size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return false;
  *line = in.substr(0, nl);
  in.remove_prefix(nl + 1);
  return true;
}

}  // namespace

std::string TlogProof::Encode() const {
  std::string out(kHeader);
  out += "\n";
  out += "extra " + Base64Encode(extra) + "\n";
  out += "index " + std::to_string(index) + "\n";
  for (const crypto::Hash& h : hashes) out += Base64Encode(ByteSpan(h.data(), h.size())) + "\n";
  out += "\n";
  out += checkpoint;
  return out;
}

Result<TlogProof> TlogProof::Parse(std::string_view in) {
  TlogProof p;
  std::string_view line;
  if (!NextLine(in, &line) || line != kHeader) return Bad("the first line must be " + std::string(kHeader));
  if (!NextLine(in, &line) || !line.starts_with("extra ")) return Bad("an extra line (the signed event) is expected");
  ASSIGN_OR_RETURN(p.extra, Base64Decode(line.substr(6)));
  if (!NextLine(in, &line) || !line.starts_with("index ")) return Bad("an index line is expected");
  const std::string_view digits = line.substr(6);
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0') ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::from_chars(digits.data(), digits.data() + digits.size(), p.index).ec != std::errc()) {
    return Bad("the index must be a decimal number without leading zeros");
  }
  while (true) {
    if (!NextLine(in, &line)) return Bad("the hashes must end with an empty line");
    if (line.empty()) break;
    ASSIGN_OR_RETURN(Bytes h, Base64Decode(line));
    if (h.size() != 32) return Bad("a proof hash is not 32 bytes");
    crypto::Hash hash;
    std::copy(h.begin(), h.end(), hash.begin());
    p.hashes.push_back(hash);
    if (p.hashes.size() > 64) return Bad("more than 64 proof hashes");
  }
  if (in.empty()) return Bad("no checkpoint");
  p.checkpoint = std::string(in);
  return p;
}

constexpr std::string_view kRotationsHeader = "mirrorca.key-rotations/v1";

std::string EncodeKeyRotations(const std::vector<KeyRotationProof>& rotations) {
  std::string out(kRotationsHeader);
  out += "\n";
  for (const KeyRotationProof& r : rotations) {
    out += "extra " + Base64Encode(r.event) + "\n";
    out += "index " + std::to_string(r.index) + "\n";
    for (const crypto::Hash& h : r.hashes) out += Base64Encode(ByteSpan(h.data(), h.size())) + "\n";
    out += "\n";
  }
  return out;
}

Result<std::vector<KeyRotationProof>> ParseKeyRotations(std::string_view in) {
  std::vector<KeyRotationProof> out;
  std::string_view line;
  if (!NextLine(in, &line) || line != kRotationsHeader) {
    return Bad("the key rotations file must start with " + std::string(kRotationsHeader));
  }
  while (!in.empty()) {
    if (out.size() >= 1024) return Bad("more than 1024 key rotations");
    // Each block is a tlog-proof's body without header and checkpoint.
    std::string block(kHeader);
    block += "\n";
    while (true) {
      if (!NextLine(in, &line)) return Bad("a key rotation must end with an empty line");
      block += std::string(line) + "\n";
      if (line.empty()) break;
    }
    block += "-\n";  // a placeholder checkpoint: the proof's own is used
    ASSIGN_OR_RETURN(TlogProof p, TlogProof::Parse(block));
    out.push_back({std::move(p.extra), p.index, std::move(p.hashes)});
  }
  return out;
}

Result<TlogProof> ProveIssuance(const std::string& data_dir, ByteSpan serial,
                                std::vector<KeyRotationProof>* rotations) {
  ASSIGN_OR_RETURN(StoreLogs opened, OpenStoreLogs(data_dir));
  auto& logs = opened.logs;
  // The issuance: from the replay index when there is one for these logs,
  // else a scan of every log (a store holds one factory's log, or HQ's
  // copies of a few).
  std::string origin;
  uint64_t seq = 0;
  bool found = false;
  if (std::filesystem::exists(DefaultReplayIndexDir(data_dir))) {
    Result<std::unique_ptr<ReplayIndex>> index = ReplayIndex::Open(DefaultReplayIndexDir(data_dir), opened);
    if (index.ok()) {
      ASSIGN_OR_RETURN(auto hit, (*index)->FindIssuance(serial));
      if (hit && logs.count(hit->first) != 0) {  // trusted only once the event says so
        Result<std::string> bytes = logs[hit->first]->ReadSignedEvent(hit->second);
        Result<log::ParsedEvent> e = bytes.ok() ? log::ParsedEvent::Parse(AsBytes(*bytes)) : bytes.status();
        if (e.ok() && e->event().getKind().isCertificateIssued()) {
          auto issued = e->event().getKind().getCertificateIssued().getSerial();
          if (std::ranges::equal(ByteSpan(issued.begin(), issued.size()), serial)) {
            origin = hit->first;
            seq = hit->second;
            found = true;
          }
        }
      }
    }
  }
  for (const auto& entry : logs) {
    if (found) break;
    const std::string& o = entry.first;
    Status s = entry.second->ForEach(0, entry.second->Size(), [&](uint64_t at, std::string_view bytes) -> Status {
      ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
      auto kind = e.event().getKind();
      if (!kind.isCertificateIssued()) return Status::Ok();
      auto issued = kind.getCertificateIssued().getSerial();
      if (!std::ranges::equal(ByteSpan(issued.begin(), issued.size()), serial)) return Status::Ok();
      origin = o;
      seq = at;
      found = true;
      return Status::FailedPrecondition("found");  // stops the scan
    });
    if (found) break;
    RETURN_IF_ERROR(s);
  }
  if (!found) return Status::NotFound("no log in " + data_dir + " issued serial " + HexEncode(serial));
  log::EventLog& l = *logs[origin];
  // The checkpoint: the largest size HQ cosigned that covers the event.
  std::string note;
  uint64_t size = 0;
  for (const auto& [o, cosigner] : logs) {
    RETURN_IF_ERROR(cosigner->ForEach(0, cosigner->Size(), [&](uint64_t, std::string_view bytes) -> Status {
      Result<log::ParsedEvent> e = log::ParsedEvent::Parse(AsBytes(bytes));
      if (!e.ok() || !e->event().getKind().isCheckpointCosigned()) return Status::Ok();
      auto c = e->event().getKind().getCheckpointCosigned();
      if (origin != c.getLogId().cStr() || c.getTreeSize() <= seq || c.getTreeSize() <= size ||
          c.getTreeSize() > l.Size()) {
        return Status::Ok();
      }
      size = c.getTreeSize();
      note = c.getCosignedNote();
      return Status::Ok();
    }));
  }
  if (note.empty()) {  // not cosigned yet: the factory's own latest checkpoint
    RETURN_IF_ERROR(l.ForEachCheckpoint([&](uint64_t at, const std::string& n) -> Status {
      if (at > seq && at > size) {
        size = at;
        note = n;
      }
      return Status::Ok();
    }));
  }
  if (note.empty()) {
    return Status::FailedPrecondition("no checkpoint of " + origin + " covers seq " + std::to_string(seq) +
                                      " yet");
  }
  TlogProof p;
  ASSIGN_OR_RETURN(std::string leaf, l.ReadSignedEvent(seq));
  p.extra.assign(leaf.begin(), leaf.end());
  p.index = seq;
  ASSIGN_OR_RETURN(p.hashes, l.InclusionProof(seq, size));
  p.checkpoint = std::move(note);
  if (rotations != nullptr) {
    rotations->clear();
    const std::shared_ptr<const log::KeyHistory> keys = l.keys();
    for (size_t i = 1; i < keys->epochs().size(); ++i) {
      const uint64_t at = keys->epochs()[i].from - 1;
      if (at >= size) break;
      KeyRotationProof r;
      ASSIGN_OR_RETURN(std::string bytes, l.ReadSignedEvent(at));
      r.event.assign(bytes.begin(), bytes.end());
      r.index = at;
      ASSIGN_OR_RETURN(r.hashes, l.InclusionProof(at, size));
      rotations->push_back(std::move(r));
    }
  }
  return p;
}

Result<ProofCheck> CheckProof(const TlogProof& proof, const log::LogVerifier& log_key,
                              const std::optional<log::LogVerifier>& cosigner,
                              ByteSpan certificate_der, const std::vector<KeyRotationProof>& rotations) {
  ProofCheck out;
  // The keys: from the pinned one along the rotations, each in the
  // checkpointed tree and signed by the key before it; then the checkpoint
  // must verify with the key in force at its size.
  ASSIGN_OR_RETURN(log::SignedNote note, log::SignedNote::Parse(proof.checkpoint));
  ASSIGN_OR_RETURN(log::Checkpoint claimed, log::Checkpoint::ParseText(note.text));
  log::KeyHistory keys(log_key);
  std::vector<const KeyRotationProof*> ordered;
  for (const KeyRotationProof& r : rotations) ordered.push_back(&r);
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->index < b->index; });
  for (const KeyRotationProof* r : ordered) {
    const std::string at = "key rotation at seq " + std::to_string(r->index);
    if (r->index >= claimed.tree_size) return Status::Corruption(at + ": outside the checkpoint");
    RETURN_IF_ERROR(log::VerifyInclusion(r->index, claimed.tree_size, log::LeafHash(r->event), r->hashes,
                                         claimed.root_hash)
                        .WithContext(at + " is not in the checkpointed tree"));
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(r->event));
    if (e.event().getLogId() != claimed.origin.c_str() || e.seq() != r->index ||
        !e.event().getKind().isLogKeyRotated()) {
      return Status::Corruption(at + ": not a logKeyRotated event of this log at that seq");
    }
    RETURN_IF_ERROR(log::VerifyEventWith(keys, e).WithContext(at));
    ++out.key_rotations;
  }
  Result<log::Checkpoint> cp = log::OpenCheckpoint(proof.checkpoint, keys);
  if (!cp.ok()) {
    return cp.status().WithContext("the checkpoint is not signed by the log key" +
                                   std::string(keys.rotated() ? " in force at its size" : ""));
  }
  out.log = cp->origin;
  out.tree_size = cp->tree_size;
  if (cosigner) {
    Result<uint64_t> at = log::VerifyCosignature(proof.checkpoint, *cosigner);
    if (!at.ok()) return at.status().WithContext("the checkpoint's cosignature");
    out.cosigned = true;
    out.cosigned_at = *at;
  }
  if (proof.index >= cp->tree_size) return Status::Corruption("the index is outside the checkpoint");
  RETURN_IF_ERROR(log::VerifyInclusion(proof.index, cp->tree_size, log::LeafHash(proof.extra),
                                       proof.hashes, cp->root_hash)
                      .WithContext("the event is not in the checkpointed tree"));
  ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(proof.extra));
  if (!keys.KeyAt(proof.index).Verify(log::EventSigningInput(e.body()), e.signature())) {
    return Status::PermissionDenied("the event is not signed by the log key in force at its seq");
  }
  auto ev = e.event();
  if (ev.getLogId() != cp->origin.c_str() || ev.getSeq() != proof.index) {
    return Status::Corruption("the event belongs to another log or position");
  }
  if (!ev.getKind().isCertificateIssued()) return Status::Corruption("the event is not a certificateIssued");
  auto c = ev.getKind().getCertificateIssued();
  if (!std::ranges::equal(ByteSpan(c.getCertificate().begin(), c.getCertificate().size()), certificate_der)) {
    return Status::Corruption("the event issued another certificate");
  }
  out.seq = proof.index;
  out.serial_hex = HexEncode(ByteSpan(c.getSerial().begin(), c.getSerial().size()));
  out.device_serial = c.getDeviceSerial();
  out.batch_id = c.getBatchId();
  return out;
}

}  // namespace mirrorca::audit
