#include "audit/replay.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "base/status_macros.h"
#include "audit/replay_fold.h"
#include "audit/replay_index.h"
#include "audit/store_logs.h"
#include "log/event_codec.h"

namespace mirrorca::audit {
namespace {

// Linear replays every log from its start up to the instant.
Result<ReplayAnswer> Linear(StoreLogs& logs, const ReplayQuery& q) {
  ReplayAnswer out;
  const std::string wanted =
      q.serial ? std::string(reinterpret_cast<const char*>(q.serial->data()), q.serial->size()) : std::string();
  std::map<std::string, std::vector<SerialStep>> steps;  // serials of the query
  std::map<std::string, std::vector<SerialStep>> revocations;  // every revoked serial
  BatchAt batch;
  for (auto& entry : logs.logs) {
    const auto& origin = entry.first;  // a plain reference: clang 14 cannot capture a structured binding
    auto& l = entry.second;
    uint64_t replayed = 0;
    Status s = l->ForEach(0, l->Size(), [&](uint64_t seq, std::string_view bytes) -> Status {
      ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
      if (e.event().getTime() > q.at) return Status::OutOfRange("after the instant");  // time-ordered
      ++replayed;
      if (logs.authority->Check(origin, e.event())) return Status::Ok();  // not this log's to say
      auto kind = e.event().getKind();
      const bool batch_log = !q.batch.empty() && origin == q.factory_origin;  // the batch's factory
      if (auto step = StepOf(e, origin, seq)) {
        const bool in_batch = batch_log && step->second.issuance && step->second.batch == q.batch;
        if (!step->second.issuance) {
          revocations[step->first].push_back(step->second);
        } else if (step->first == wanted || in_batch) {
          steps[step->first].push_back(step->second);
        }
        if (in_batch) batch.issued++;
      } else if (kind.isIssuanceRejected()) {
        if (batch_log && q.batch == kind.getIssuanceRejected().getBatchId().cStr()) batch.rejected++;
      } else if (kind.isBatchAuthorized()) {
        auto b = kind.getBatchAuthorized();
        if (!q.batch.empty() && q.batch == b.getBatchId().cStr() && q.factory_origin == b.getFactoryLogId().cStr()) {
          batch.authorized = b.getQuota();
        }
      } else if (kind.isCheckpointCosigned()) {
        auto c = kind.getCheckpointCosigned();
        uint64_t& size = out.cosigned[c.getLogId()];
        size = std::max(size, c.getTreeSize());
      }
      return Status::Ok();
    });
    if (!s.ok() && s.code() != StatusCode::kOutOfRange) return s;
    out.events[origin] = replayed;
  }
  auto fold = [&](const std::string& serial) {
    std::vector<SerialStep> all = steps[serial];
    auto r = revocations.find(serial);
    if (r != revocations.end()) all.insert(all.end(), r->second.begin(), r->second.end());
    return Fold(std::move(all));
  };
  if (q.serial) out.certificate = fold(wanted).Answer();
  if (!q.batch.empty()) {
    for (const auto& [serial, unused] : steps) {
      SerialFold f = fold(serial);
      batch.revoked += f.RevokedIn(q.factory_origin, q.batch);
      batch.on_hold += f.HeldIn(q.factory_origin, q.batch);
    }
    out.batch = batch;
  }
  return out;
}

// Describe adds what only the issuance event itself holds: the device serial
// and the key that signed it (the signature is checked).
Status Describe(StoreLogs& logs, CertificateAt& c) {
  if (!c.issued) return Status::Ok();
  auto it = logs.logs.find(c.issued_in);
  if (it == logs.logs.end()) return Status::Internal("issuance in an unknown log " + c.issued_in);
  ASSIGN_OR_RETURN(std::string bytes, it->second->ReadSignedEvent(c.issued_seq));
  ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
  // The key in force at that seq (the log's chain of keys, which `audit
  // verify` re-derives from its rotation events).
  const log::LogVerifier& key = it->second->keys()->KeyAt(c.issued_seq);
  if (!key.Verify(log::EventSigningInput(e.body()), e.signature())) {
    return Status::Corruption("the issuance event " + c.issued_in + " seq " + std::to_string(c.issued_seq) +
                              " does not verify (run audit verify)");
  }
  if (!e.event().getKind().isCertificateIssued()) return Status::Corruption("the indexed event is no issuance");
  const std::string vkey = key.VerifierKey();
  c.signed_by = vkey.substr(0, vkey.find('+', vkey.find('+') + 1));  // name+keyid of the key at that seq
  c.device_serial = e.event().getKind().getCertificateIssued().getDeviceSerial();
  return Status::Ok();
}

}  // namespace

Result<ReplayAnswer> Replay(const std::string& data_dir, const ReplayQuery& query, const ReplayOptions& o) {
  ASSIGN_OR_RETURN(StoreLogs logs, OpenStoreLogs(data_dir));
  ReplayQuery q = query;
  if (!q.batch.empty() && q.factory_origin.empty()) {  // FACTORY/BATCH, by the names HQ registered
    ASSIGN_OR_RETURN(engine::BatchRef ref, engine::ResolveBatchRef(*logs.authority, q.batch));
    q.factory_origin = ref.factory_origin;
    q.batch = ref.batch;
  }
  const std::string index_dir = o.index_dir.empty() ? DefaultReplayIndexDir(data_dir) : o.index_dir;
  std::optional<ReplayAnswer> answer;
  std::string note;
  if (o.use_index && std::filesystem::exists(index_dir)) {
    Result<std::unique_ptr<ReplayIndex>> index = ReplayIndex::Open(index_dir, logs);
    if (index.ok()) {
      ASSIGN_OR_RETURN(answer, (*index)->Answer(q));
    } else if (index.status().code() == StatusCode::kFailedPrecondition) {
      note = index.status().message() + "; answered by a linear replay (run audit index)";
    } else {
      return index.status();
    }
  }
  if (!answer) {
    ASSIGN_OR_RETURN(answer, Linear(logs, q));
    answer->note = note;
  }
  if (answer->certificate) RETURN_IF_ERROR(Describe(logs, *answer->certificate));
  return std::move(*answer);
}

}  // namespace mirrorca::audit
