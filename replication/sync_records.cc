#include "replication/sync_records.h"

namespace mirrorca::replication {

log::EventDraft CheckpointCosignedDraft(const log::Checkpoint& cp, const std::string& cosigned_note,
                                        uint64_t timestamp) {
  log::EventDraft d;
  auto c = d.event().getKind().initCheckpointCosigned();
  c.setLogId(cp.origin);
  c.setTreeSize(cp.tree_size);
  c.setRootHash(capnp::Data::Reader(cp.root_hash.data(), cp.root_hash.size()));
  c.setCosignedNote(cosigned_note);
  c.setTimestamp(timestamp);
  return d;
}

log::EventDraft SyncSessionDraft(const SessionRecord& r) {
  log::EventDraft d;
  auto s = d.event().getKind().initSyncSession();
  s.setPeerLogId(r.peer_log);
  s.setDirection(r.direction);
  s.setEventsSent(r.events_sent);
  s.setEventsReceived(r.events_received);
  s.setPeerTreeSize(r.peer_tree_size);
  s.setResult(r.result);
  return d;
}

log::EventDraft AnomalyDraft(const std::string& peer_log, const Refused& refused) {
  log::EventDraft d;
  auto a = d.event().getKind().initLogAnomaly();
  a.setPeerLogId(peer_log);
  a.setKind(std::string(RefusalCode(refused.kind)));
  a.setDetail(refused.detail);
  auto ev = a.initEvidence(static_cast<unsigned>(refused.evidence.size()));
  for (size_t i = 0; i < refused.evidence.size(); ++i) {
    ev.set(static_cast<unsigned>(i), refused.evidence[i]);
  }
  return d;
}

}  // namespace mirrorca::replication
