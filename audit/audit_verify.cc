#include "audit/audit_verify.h"

#include "engine/cosigner.h"

#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <filesystem>
#include <map>
#include <memory>

#include "base/bounded_queue.h"
#include "base/encoding.h"
#include "base/status_macros.h"
#include "engine/scratch_projection.h"
#include "engine/status_projector.h"
#include "engine/status_records.h"
#include "audit/store_logs.h"
#include "log/checkpoint.h"
#include "ca/certificate.h"
#include "log/cosignature.h"
#include "engine/delivery_log.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/local_log.h"
#include "log/log_verification.h"
#include "log/merkle.h"

namespace mirrorca::audit {
namespace {

struct Failure {
  std::string log;
  std::optional<uint64_t> seq;
  std::string reason;
};

// RecordedCosignature: a checkpointCosigned event, as the log verification
// sees it go by.
struct RecordedCosignature {
  std::string recorder;  // origin of the log that records it
  uint64_t seq = 0;
  std::string target;    // origin of the cosigned log
  uint64_t tree_size = 0;
  std::string note;
};

// CheckCosignatures verifies each recorded cosignature with the cosigner
// key in force where the log records it — the last cosignerKeySet before it
// in that log, or the log's own key when it set none (engine/cosigner.h) —
// in log and seq order, so the first bad one is named, and returns the notes
// per covered log, to be checked against its events.
std::optional<Failure> CheckCosignatures(std::vector<RecordedCosignature> recorded,
                                         std::map<std::string, std::vector<engine::CosignerEpoch>> cosigners,
                                         const std::map<std::string, std::unique_ptr<log::EventLog>>& logs,
                                         std::map<std::string, std::vector<std::string>>* notes) {
  std::sort(recorded.begin(), recorded.end(), [](const auto& a, const auto& b) {
    return std::tie(a.recorder, a.seq) < std::tie(b.recorder, b.seq);
  });
  for (auto& [origin, epochs] : cosigners) {
    std::sort(epochs.begin(), epochs.end(), [](const auto& a, const auto& b) { return a.from_hq_seq < b.from_hq_seq; });
  }
  for (const RecordedCosignature& r : recorded) {
    const log::LogVerifier& key =
        engine::CosignerAt(cosigners[r.recorder], r.seq, logs.at(r.recorder)->verifier());
    Result<uint64_t> when = log::VerifyCosignature(r.note, key);
    if (!when.ok()) {
      return Failure{r.recorder, r.seq,
                     "the cosignature of " + r.target + " at size " + std::to_string(r.tree_size) +
                         " does not verify: " + when.status().ToString()};
    }
    if (logs.count(r.target) != 0) (*notes)[r.target].push_back(r.note);
  }
  return std::nullopt;
}

// CheckConsistency proves, with RFC 9162 consistency proofs from the stored
// tree, that each checkpoint of `l` extends the one before it.
Result<std::optional<Failure>> CheckConsistency(log::EventLog& l,
                                                const std::vector<std::string>& extra_notes,
                                                uint64_t* proofs) {
  std::map<uint64_t, crypto::Hash> roots;
  Status s = l.ForEachCheckpoint([&](uint64_t, const std::string& note) -> Status {
    ASSIGN_OR_RETURN(log::Checkpoint cp, log::OpenCheckpoint(note, *l.keys()));
    roots[cp.tree_size] = cp.root_hash;
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  for (const std::string& note : extra_notes) {
    ASSIGN_OR_RETURN(log::Checkpoint cp, log::OpenCheckpoint(note, *l.keys()));
    roots[cp.tree_size] = cp.root_hash;
  }
  roots.erase(0);
  const std::pair<const uint64_t, crypto::Hash>* previous = nullptr;
  for (const auto& entry : roots) {
    if (previous != nullptr) {
      ASSIGN_OR_RETURN(std::vector<crypto::Hash> proof, l.ConsistencyProof(previous->first, entry.first));
      Status ok = log::VerifyConsistency(previous->first, entry.first, previous->second, entry.second, proof);
      if (!ok.ok()) {
        return std::optional<Failure>(Failure{
            l.origin(), entry.first - 1,
            "checkpoint at size " + std::to_string(entry.first) + " is not consistent with size " +
                std::to_string(previous->first) + ": " + ok.ToString()});
      }
      ++*proofs;
    }
    previous = &entry;
  }
  return std::optional<Failure>();
}

// VerifiedRun: consecutive events of one log that passed verification, on
// their way to the projection rebuild.
struct VerifiedRun {
  std::string origin;
  uint64_t first_seq = 0;
  std::vector<std::string> events;
};

// ProjectionCheck rebuilds HQ's certificate-status projection from the
// events the log verification hands it, up to the positions the stored
// projection records, and compares the two key for key. It runs on a thread
// of its own while the signatures keep every core busy.
class ProjectionCheck {
 public:
  ProjectionCheck(log::Store& store, const std::map<std::string, std::unique_ptr<log::EventLog>>& logs,
                  const engine::LogAuthority& authority, const std::string& spill_dir, const AuditOptions& o)
      : store_(store), authority_(authority), scratch_(spill_dir, o.memory_budget), progress_(o.progress), runs_(4) {
    for (const auto& [origin, l] : logs) {
      Result<std::string> v = store.Get(store.meta(), engine::StatusKey("pos/", origin));
      until_[origin] = v.ok() && v->size() == 8 ? GetBigEndian64(*v) : 0;
      total_ += until_[origin];
    }
  }

  // Offer hands a verified run over (blocking while the rebuild is 4 runs behind).
  void Offer(const std::string& origin, uint64_t first_seq, std::vector<std::string>& events) {
    auto it = until_.find(origin);
    if (it == until_.end() || first_seq >= it->second) return;
    if (first_seq + events.size() > it->second) events.resize(it->second - first_seq);
    runs_.Push(VerifiedRun{origin, first_seq, std::move(events)});
  }

  // Run rebuilds until Finish, then (unless abandoned) compares.
  void Run() {
    const auto start = std::chrono::steady_clock::now();
    result_ = Rebuild();
    runs_.Close();  // a failed rebuild no longer holds the verification up
    if (result_.ok() && !*result_ && !abandoned_) result_ = Compare();
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  // Finish ends the stream of runs; abandon: the logs failed, do not compare.
  void Finish(bool abandon) {
    abandoned_ = abandon;
    runs_.Close();
  }

  Result<std::optional<Failure>>& result() { return result_; }
  uint64_t keys() const { return keys_; }
  double seconds() const { return seconds_; }
  bool spilled() const { return scratch_.spilled(); }

 private:
  Result<std::optional<Failure>> Rebuild() {
    scratch_.Reserve(total_ * 2 + 1024);  // a record and a batch index entry per issuance
    engine::PutSchema(scratch_);
    RETURN_IF_ERROR(scratch_.Commit());
    uint64_t done = 0;
    while (std::optional<VerifiedRun> run = runs_.Pop()) {
      const uint64_t end = run->first_seq + run->events.size();
      Status s = engine::ProjectStep(scratch_, run->origin, end, authority_, [&](const engine::EventVisitor& visit) -> Status {
        for (size_t i = 0; i < run->events.size(); ++i) RETURN_IF_ERROR(visit(run->first_seq + i, run->events[i]));
        return Status::Ok();
      });
      RETURN_IF_ERROR(s.WithContext("rebuild the projection from " + run->origin));
      done += run->events.size();
      if (progress_) progress_("projection", done, total_);
    }
    return std::optional<Failure>();
  }

  Result<std::optional<Failure>> Compare() {
    ASSIGN_OR_RETURN(std::optional<std::string> diff, scratch_.Diff(store_, engine::kStatusPrefix, &keys_));
    if (!diff) return std::optional<Failure>();
    return std::optional<Failure>(
        Failure{"projection", std::nullopt, "the certificate-status projection differs from a rebuild: " + *diff});
  }

  log::Store& store_;
  const engine::LogAuthority& authority_;
  engine::ScratchProjection scratch_;
  const std::function<void(const std::string&, uint64_t, uint64_t)> progress_;
  std::map<std::string, uint64_t> until_;
  uint64_t total_ = 0;
  BoundedQueue<VerifiedRun> runs_;
  std::atomic<bool> abandoned_{false};
  Result<std::optional<Failure>> result_ = std::optional<Failure>();
  uint64_t keys_ = 0;
  double seconds_ = 0;
};

}  // namespace

Result<AuditVerdict> AuditVerify(const std::string& data_dir, const AuditOptions& o) {
  ASSIGN_OR_RETURN(StoreLogs opened, OpenStoreLogs(data_dir));
  log::Store* store = opened.store.get();
  const auto& logs = opened.logs;
  // What each log may say (engine/log_authority.h), learned from HQ's log.
  const std::unique_ptr<engine::LogAuthority>& authority = opened.authority;
  AuditVerdict v;
  auto fail = [&](const Failure& f) {
    v.ok = false;
    v.bad_log = f.log;
    v.bad_seq = f.seq;
    v.reason = f.reason;
    return v;
  };
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };

  // The projection, when the store has one of this version (another version
  // is rebuilt by `hq serve` when it opens the store), is rebuilt from the
  // verified events on a thread of its own while the logs are verified; the
  // cosignatures are collected as the verification parses the events, and
  // checked against the verified trees.
  Result<std::string> schema = store->Get(store->meta(), engine::StatusKey("schema", ""));
  if (!schema.ok() && schema.status().code() != StatusCode::kNotFound) return schema.status();
  const bool check_projection = schema.ok() && *schema == std::to_string(engine::kStatusSchemaVersion);
  std::string scratch = o.scratch_dir;
  if (check_projection && scratch.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mirrorca-audit-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a scratch directory");
    scratch = tmpl;
  }
  std::unique_ptr<ProjectionCheck> projection;
  if (check_projection) {
    projection = std::make_unique<ProjectionCheck>(*store, logs, *authority, scratch + "/projection", o);
  }
  std::thread background([&] {
    if (projection) projection->Run();
  });
  struct Joiner {  // every return below ends the rebuild, waits for it and removes its scratch store
    std::thread& t;
    ProjectionCheck* projection;
    const std::string& scratch;
    bool own_scratch;
    ~Joiner() {
      if (projection) projection->Finish(/*abandon=*/true);
      if (t.joinable()) t.join();
      if (!scratch.empty()) std::filesystem::remove_all(scratch + "/projection");
      if (own_scratch && !scratch.empty()) std::filesystem::remove_all(scratch);
    }
  } joiner{background, projection.get(), scratch, o.scratch_dir.empty()};

  auto t = Clock::now();
  std::mutex recorded_mu;
  std::vector<RecordedCosignature> recorded;
  std::map<std::string, std::vector<engine::CosignerEpoch>> cosigners;  // cosignerKeySet, per log
  // The certificates to find: SHA-256 of the DER -> where it was found.
  std::map<crypto::Hash, std::optional<std::pair<std::string, uint64_t>>> wanted;
  for (const std::string& der : o.certificates) wanted[crypto::Sha256(AsBytes(der))] = std::nullopt;
  std::map<std::string, Failure> outside_authority;  // the first event per log that breaks the table
  std::optional<Failure> log_failure;
  std::vector<AuditLogResult> results;
  for (const auto& [origin, l] : logs) {
    AuditLogResult r;
    r.origin = origin;
    log::VerifyOptions vo;
    vo.threads = o.threads;
    vo.visit = [&recorded_mu, &recorded, &cosigners, &outside_authority, &authority, &wanted, origin = origin](
                   uint64_t seq, const log::ParsedEvent& e) {
      if (e.event().getKind().isCosignerKeySet()) {
        // (A malformed key is caught by CosignerAt's caller: it never verifies.)
        Result<log::LogVerifier> key = log::LogVerifier::Parse(e.event().getKind().getCosignerKeySet().getKey().cStr());
        if (key.ok() && key->name() == engine::CosignerName(origin)) {
          std::lock_guard lock(recorded_mu);
          cosigners[origin].push_back({seq, std::move(*key)});
        }
      }
      if (!wanted.empty() && e.event().getKind().isCertificateIssued()) {
        auto der = e.event().getKind().getCertificateIssued().getCertificate();
        auto it = wanted.find(crypto::Sha256(ByteSpan(der.begin(), der.size())));
        if (it != wanted.end()) {
          std::lock_guard lock(recorded_mu);
          it->second = std::make_pair(origin, seq);
        }
      }
      if (std::optional<engine::AuthorityViolation> bad = authority->Check(origin, e.event())) {
        std::lock_guard lock(recorded_mu);
        auto it = outside_authority.find(origin);
        if (it == outside_authority.end() || seq < *it->second.seq) {
          outside_authority[origin] = Failure{origin, seq, "outside the log's authority: " + bad->ToString()};
        }
      }
      if (!e.event().getKind().isCheckpointCosigned()) return;
      auto c = e.event().getKind().getCheckpointCosigned();
      std::lock_guard lock(recorded_mu);
      recorded.push_back({origin, seq, c.getLogId(), c.getTreeSize(), c.getCosignedNote()});
    };
    if (projection) {
      vo.verified = [&projection, origin = origin](uint64_t first_seq, std::vector<std::string>& events) {
        projection->Offer(origin, first_seq, events);
      };
    }
    if (o.progress) {
      vo.progress = [&o, origin = origin](uint64_t done, uint64_t total) { o.progress(origin, done, total); };
    }
    ASSIGN_OR_RETURN(log::VerifyReport report, log::VerifyLog(*l, vo));
    if (!report.ok) {
      log_failure = Failure{origin, report.first_bad_seq, report.reason};
      break;
    }
    r.events = report.events;
    r.checkpoints = report.checkpoints;
    results.push_back(std::move(r));
  }
  if (projection) projection->Finish(/*abandon=*/log_failure.has_value());
  v.phase_seconds["logs"] = seconds_since(t);
  if (log_failure) return fail(*log_failure);
  if (!outside_authority.empty()) return fail(outside_authority.begin()->second);
  t = Clock::now();
  std::map<std::string, std::vector<std::string>> cosigned;
  if (std::optional<Failure> bad = CheckCosignatures(std::move(recorded), std::move(cosigners), logs, &cosigned)) return fail(*bad);
  v.phase_seconds["cosignatures"] = seconds_since(t);
  t = Clock::now();
  for (AuditLogResult& r : results) {
    log::EventLog& l = *logs.at(r.origin);
    const std::vector<std::string>& notes = cosigned[r.origin];
    for (const std::string& note : notes) {  // the cosigned checkpoints against the verified tree
      Result<log::Checkpoint> cp = log::OpenCheckpoint(note, *l.keys());
      if (!cp.ok()) {
        return fail(Failure{r.origin, std::nullopt, "a cosigned checkpoint is not signed by the log key: " +
                                                        cp.status().ToString()});
      }
      if (cp->tree_size > l.Size()) {
        return fail(Failure{r.origin, std::nullopt, "a cosigned checkpoint covers " +
                                                        std::to_string(cp->tree_size) + " events; the log holds " +
                                                        std::to_string(l.Size())});
      }
      if (cp->tree_size == 0) continue;
      ASSIGN_OR_RETURN(crypto::Hash root, l.RootAt(cp->tree_size));
      if (root != cp->root_hash) {
        return fail(Failure{r.origin, cp->tree_size - 1,
                            "the cosigned checkpoint at size " + std::to_string(cp->tree_size) +
                                " has another root than the log's events"});
      }
    }
    r.cosignatures = notes.size();
    ASSIGN_OR_RETURN(std::optional<Failure> bad, CheckConsistency(l, notes, &r.consistency_proofs));
    if (bad) return fail(*bad);
    v.events += r.events;
    v.logs.push_back(std::move(r));
  }
  v.phase_seconds["consistency"] = seconds_since(t);
  // Every certificate shown must be an issuance event (the table already
  // refused any log that carries one it may not).
  for (const std::string& der : o.certificates) {
    const auto& found = wanted.at(crypto::Sha256(AsBytes(der)));
    if (!found) {
      Result<ca::X509Ptr> cert = ca::ParseCertificate(der);
      const std::string what = cert.ok() ? "certificate " + ca::SubjectText(cert->get()) + " (serial " +
                                               ca::SerialHex(cert->get()) + ")"
                                         : "a certificate that does not parse";
      return fail(Failure{"certificates", std::nullopt, what + " is in no log: a CA key signed it unrecorded"});
    }
    v.certificates_logged++;
  }
  // HQ's delivery logs (engine/delivery_log.h): each holds exactly what HQ's
  // log addressed to its factory, byte for byte.
  if (!opened.self.empty() && std::filesystem::exists(data_dir + "/delivery")) {
    t = Clock::now();
    auto hq = logs.find(opened.self);
    log::StoreOptions so;
    so.read_only = true;
    ASSIGN_OR_RETURN(std::unique_ptr<log::Store> delivery_store, log::Store::Open(data_dir + "/delivery", so));
    ASSIGN_OR_RETURN(std::vector<std::string> origins, log::EventLog::ListOrigins(delivery_store.get()));
    for (const std::string& origin : origins) {
      ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> delivery,
                       log::EventLog::Open(delivery_store.get(), origin, std::nullopt));
      const std::string prefix = engine::DeliveryOrigin(opened.self, "");
      std::optional<engine::FactoryScope> f;
      if (origin.rfind(prefix, 0) == 0) f = authority->FactoryNamed(origin.substr(prefix.size()));
      if (hq == logs.end() || !f) {
        return fail(Failure{origin, std::nullopt, "a delivery log of no factory registered in HQ's log"});
      }
      if (delivery->verifier().public_key() != hq->second->verifier().public_key()) {
        return fail(Failure{origin, std::nullopt, "a delivery log not signed with HQ's log key"});
      }
      ASSIGN_OR_RETURN(log::VerifyReport report, log::VerifyLog(*delivery, {}));
      if (!report.ok) return fail(Failure{origin, report.first_bad_seq, report.reason});
      if (Status s = engine::AuditDelivery(*hq->second, *delivery, f->log_origin); !s.ok()) {
        return fail(Failure{origin, std::nullopt, s.message()});
      }
      v.deliveries_checked++;
    }
    v.phase_seconds["deliveries"] = seconds_since(t);
  }
  if (background.joinable()) background.join();
  if (projection) {
    v.phase_seconds["projection"] = projection->seconds();
    v.projection_keys = projection->keys();
    v.projection_spilled = projection->spilled();
    if (!projection->result().ok()) return projection->result().status();
    v.projection_checked = true;
    if (*projection->result()) return fail(**projection->result());
  }
  return v;
}

}  // namespace mirrorca::audit
