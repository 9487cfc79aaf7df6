#include "engine/audit_verify.h"

#include <rocksdb/db.h>

#include <cctype>
#include <chrono>
#include <mutex>
#include <thread>
#include <filesystem>
#include <map>
#include <memory>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "engine/cert_status.h"
#include "engine/store_logs.h"
#include "log/checkpoint.h"
#include "log/cosignature.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/local_log.h"
#include "log/log_verification.h"
#include "log/merkle.h"

namespace mirrorca::engine {
namespace {

constexpr std::string_view kProjectionPrefix = "status/v1/";

std::string Printable(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (std::isprint(static_cast<unsigned char>(c))) {
      out.push_back(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[(static_cast<unsigned char>(c) >> 4) & 15]);
      out.push_back(hex[static_cast<unsigned char>(c) & 15]);
    }
  }
  return out;
}

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

// CheckCosignatures verifies each recorded cosignature with the key of the
// log that records it (in log and seq order, so the first bad one is named)
// and returns the notes per covered log, to be checked against its events.
std::optional<Failure> CheckCosignatures(std::vector<RecordedCosignature> recorded,
                                         const std::map<std::string, std::unique_ptr<log::EventLog>>& logs,
                                         std::map<std::string, std::vector<std::string>>* notes) {
  std::sort(recorded.begin(), recorded.end(), [](const auto& a, const auto& b) {
    return std::tie(a.recorder, a.seq) < std::tie(b.recorder, b.seq);
  });
  for (const RecordedCosignature& r : recorded) {
    Result<uint64_t> when = log::VerifyCosignature(r.note, logs.at(r.recorder)->verifier());
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
  std::map<uint64_t, log::Hash> roots;
  Status s = l.ForEachCheckpoint([&](uint64_t, const std::string& note) -> Status {
    ASSIGN_OR_RETURN(log::Checkpoint cp, log::OpenCheckpoint(note, l.verifier()));
    roots[cp.tree_size] = cp.root_hash;
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  for (const std::string& note : extra_notes) {
    ASSIGN_OR_RETURN(log::Checkpoint cp, log::OpenCheckpoint(note, l.verifier()));
    roots[cp.tree_size] = cp.root_hash;
  }
  roots.erase(0);
  const std::pair<const uint64_t, log::Hash>* previous = nullptr;
  for (const auto& entry : roots) {
    if (previous != nullptr) {
      ASSIGN_OR_RETURN(std::vector<log::Hash> proof, l.ConsistencyProof(previous->first, entry.first));
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

// CheckProjection rebuilds HQ's certificate-status projection from the logs
// in a scratch store, up to the positions the stored one records, and
// compares the two key for key.
Result<std::optional<Failure>> CheckProjection(
    log::Store& store, const std::map<std::string, std::unique_ptr<log::EventLog>>& logs,
    const std::string& scratch, const AuditOptions& o, uint64_t* keys) {
  ASSIGN_OR_RETURN(auto rebuilt_store, log::Store::Open(scratch, {.create_if_missing = true, .durable = false}));
  ASSIGN_OR_RETURN(std::unique_ptr<CertStatus> rebuilt, CertStatus::Open(rebuilt_store.get()));
  uint64_t total = 0, done = 0;
  std::map<std::string, uint64_t> until;
  for (const auto& [origin, l] : logs) {
    Result<std::string> v = store.Get(store.meta(), std::string(kProjectionPrefix) + "pos/" + origin);
    until[origin] = v.ok() && v->size() == 8 ? GetBigEndian64(*v) : 0;
    total += until[origin];
  }
  for (const auto& [origin, l] : logs) {
    RETURN_IF_ERROR(rebuilt->CatchUp(*l, until[origin]).status());
    done += until[origin];
    if (o.progress) o.progress("projection", done, total);
  }
  const rocksdb::Slice prefix(kProjectionPrefix.data(), kProjectionPrefix.size());
  std::unique_ptr<rocksdb::Iterator> a(store.db()->NewIterator(rocksdb::ReadOptions(), store.meta()));
  std::unique_ptr<rocksdb::Iterator> b(
      rebuilt_store->db()->NewIterator(rocksdb::ReadOptions(), rebuilt_store->meta()));
  a->Seek(prefix);
  b->Seek(prefix);
  auto valid = [&](rocksdb::Iterator* it) { return it->Valid() && it->key().starts_with(prefix); };
  while (valid(a.get()) || valid(b.get())) {
    if (!valid(a.get()) || !valid(b.get()) || a->key() != b->key() || a->value() != b->value()) {
      std::string what;
      if (!valid(a.get())) {
        what = "missing key " + Printable(b->key().ToStringView());
      } else if (!valid(b.get()) || a->key().compare(b->key()) < 0) {
        what = "key that no event explains " + Printable(a->key().ToStringView());
      } else if (a->key() != b->key()) {
        what = "missing key " + Printable(b->key().ToStringView());
      } else {
        what = "value differs at " + Printable(a->key().ToStringView());
      }
      return std::optional<Failure>(
          Failure{"projection", std::nullopt, "the certificate-status projection differs from a rebuild: " + what});
    }
    ++*keys;
    a->Next();
    b->Next();
  }
  if (!a->status().ok()) return Status::IOError(a->status().ToString());
  if (!b->status().ok()) return Status::IOError(b->status().ToString());
  return std::optional<Failure>();
}

}  // namespace

Result<AuditVerdict> AuditVerify(const std::string& data_dir, const AuditOptions& o) {
  ASSIGN_OR_RETURN(StoreLogs opened, OpenStoreLogs(data_dir));
  log::Store* store = opened.store.get();
  const auto& logs = opened.logs;
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
  // is rebuilt by `hq serve` when it opens the store), is rebuilt on a thread
  // of its own while the logs are verified: the signatures keep both cores
  // busy, the rebuild is mostly parsing and RocksDB writes.
  Result<std::string> schema = store->Get(store->meta(), std::string(kProjectionPrefix) + "schema");
  if (!schema.ok() && schema.status().code() != StatusCode::kNotFound) return schema.status();
  const bool check_projection = schema.ok() && *schema == std::to_string(CertStatus::kSchemaVersion);
  std::string scratch = o.scratch_dir;
  if (check_projection && scratch.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mirrorca-audit-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a scratch directory");
    scratch = tmpl;
  }
  // A second thread rebuilds the projection while this one verifies the
  // logs' signatures on every core; the cosignatures are collected as the
  // verification parses the events, and checked against the verified trees.
  Result<std::optional<Failure>> projection = std::optional<Failure>();
  double projection_seconds = 0;
  uint64_t projection_keys = 0;
  std::thread background([&] {
    if (!check_projection) return;
    const auto t = Clock::now();
    projection = CheckProjection(*store, logs, scratch + "/projection", o, &projection_keys);
    projection_seconds = seconds_since(t);
  });
  struct Joiner {  // every return below waits for the thread and removes its scratch store
    std::thread& t;
    const std::string& scratch;
    bool own_scratch;
    ~Joiner() {
      if (t.joinable()) t.join();
      if (!scratch.empty()) std::filesystem::remove_all(scratch + "/projection");
      if (own_scratch && !scratch.empty()) std::filesystem::remove_all(scratch);
    }
  } joiner{background, scratch, o.scratch_dir.empty()};

  auto t = Clock::now();
  std::mutex recorded_mu;
  std::vector<RecordedCosignature> recorded;
  std::optional<Failure> log_failure;
  std::vector<AuditLogResult> results;
  for (const auto& [origin, l] : logs) {
    AuditLogResult r;
    r.origin = origin;
    log::VerifyOptions vo;
    vo.threads = o.threads;
    vo.visit = [&recorded_mu, &recorded, origin = origin](uint64_t seq, const log::ParsedEvent& e) {
      if (!e.event().getKind().isCheckpointCosigned()) return;
      auto c = e.event().getKind().getCheckpointCosigned();
      std::lock_guard lock(recorded_mu);
      recorded.push_back({origin, seq, c.getLogId(), c.getTreeSize(), c.getCosignedNote()});
    };
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
  v.phase_seconds["logs"] = seconds_since(t);
  if (log_failure) return fail(*log_failure);
  t = Clock::now();
  std::map<std::string, std::vector<std::string>> cosigned;
  if (std::optional<Failure> bad = CheckCosignatures(std::move(recorded), logs, &cosigned)) return fail(*bad);
  v.phase_seconds["cosignatures"] = seconds_since(t);
  t = Clock::now();
  for (AuditLogResult& r : results) {
    log::EventLog& l = *logs.at(r.origin);
    const std::vector<std::string>& notes = cosigned[r.origin];
    for (const std::string& note : notes) {  // the cosigned checkpoints against the verified tree
      Result<log::Checkpoint> cp = log::OpenCheckpoint(note, l.verifier());
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
      ASSIGN_OR_RETURN(log::Hash root, l.RootAt(cp->tree_size));
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
  if (background.joinable()) background.join();
  if (check_projection) {
    v.phase_seconds["projection"] = projection_seconds;
    v.projection_keys = projection_keys;
    if (!projection.ok()) return projection.status();
    v.projection_checked = true;
    if (*projection) return fail(**projection);
  }
  return v;
}

}  // namespace mirrorca::engine
