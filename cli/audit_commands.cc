// `mirrorca audit ...`: the auditor's commands (audit/audit_verify.h).
#include "cli/audit_commands.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/env.h"
#include "base/utc_time.h"
#include "ca/certificate.h"
#include "cli/sync_support.h"
#include "audit/audit_report.h"
#include "audit/audit_verify.h"
#include "audit/issuance_proof.h"
#include "audit/replay.h"
#include "audit/replay_index.h"
#include "audit/report_html.h"
#include "audit/store_logs.h"

namespace mirrorca::cli {
namespace {

struct VerifyArgs {
  std::string data;
  unsigned threads = 0;
  size_t memory_mib = 2048;
  std::vector<std::string> certificates;  // files (PEM or DER) that must each be logged
};

int AuditVerifyCommand(const VerifyArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::unique_ptr<ProgressLine>> bars;
  std::mutex bars_mu;  // the projection's rebuild reports from its own thread
  audit::AuditOptions o;
  o.threads = a.threads;
  o.memory_budget = a.memory_mib << 20;
  for (const std::string& path : a.certificates) {
    Result<std::string> text = Env::Default()->ReadFile(path, 1 << 20);
    Result<ca::X509Ptr> cert = text.ok() ? ca::ParseCertificate(*text) : Result<ca::X509Ptr>(text.status());
    Result<std::string> der = cert.ok() ? ca::CertificateDer(cert->get()) : Result<std::string>(cert.status());
    if (!der.ok()) {
      std::cerr << "error: " << path << ": " << der.status() << "\n";
      return 2;
    }
    o.certificates.push_back(std::move(*der));
  }
  o.progress = [&](const std::string& stage, uint64_t done, uint64_t total) {
    std::lock_guard<std::mutex> lock(bars_mu);
    auto& bar = bars[stage];
    if (!bar) bar = std::make_unique<ProgressLine>(stage);
    bar->Update(done, total);
  };
  Result<audit::AuditVerdict> v = audit::AuditVerify(a.data, o);
  bars.clear();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!v.ok()) {
    std::cout << nlohmann::json{{"ok", false}, {"error", v.status().ToString()}}.dump() << std::endl;
    return 2;
  }
  nlohmann::json logs = nlohmann::json::array();
  for (const audit::AuditLogResult& r : v->logs) {
    logs.push_back({{"log", r.origin},
                    {"events", r.events},
                    {"checkpoints", r.checkpoints},
                    {"cosignatures", r.cosignatures},
                    {"consistency_proofs", r.consistency_proofs}});
  }
  nlohmann::json out = {{"ok", v->ok},
                        {"events", v->events},
                        {"logs", logs},
                        {"projection", v->projection_checked ? "checked" : "none"},
                        {"projection_keys", v->projection_keys},
                        {"projection_spilled", v->projection_spilled},
                        {"deliveries_checked", v->deliveries_checked},
                        {"certificates_logged", v->certificates_logged},
                        {"phase_seconds", v->phase_seconds},
                        {"seconds", seconds}};
  if (!v->ok) {
    out["bad_log"] = v->bad_log;
    out["bad_seq"] = v->bad_seq ? nlohmann::json(*v->bad_seq) : nlohmann::json(nullptr);
    out["reason"] = v->reason;
  }
  std::cout << out.dump() << std::endl;
  return v->ok ? 0 : 1;
}

struct ProveArgs {
  std::string data, serial, out;
};

int AuditProveCommand(const ProveArgs& a) {
  Result<Bytes> serial = HexDecode(a.serial);
  if (!serial.ok()) {
    std::cerr << "error: --serial: " << serial.status() << "\n";
    return 2;
  }
  std::vector<audit::KeyRotationProof> rotations;
  Result<audit::TlogProof> proof = audit::ProveIssuance(a.data, *serial, &rotations);
  Status s = proof.ok() ? Env::Default()->WriteFileAtomic(a.out, proof->Encode(), 0644) : proof.status();
  // The log's key rotations under that checkpoint travel beside the proof.
  const std::string keys_file = a.out + ".keys";
  if (s.ok() && !rotations.empty()) {
    s = Env::Default()->WriteFileAtomic(keys_file, audit::EncodeKeyRotations(rotations), 0644);
  } else if (s.ok()) {
    std::error_code ec;
    std::filesystem::remove(keys_file, ec);
  }
  if (!s.ok()) {
    std::cout << nlohmann::json{{"ok", false}, {"error", s.ToString()}}.dump() << std::endl;
    return s.code() == StatusCode::kNotFound ? 1 : 2;
  }
  nlohmann::json out = {{"ok", true}, {"out", a.out}, {"index", proof->index},
                        {"proof_hashes", proof->hashes.size()}, {"key_rotations", rotations.size()}};
  if (!rotations.empty()) out["keys_file"] = keys_file;
  std::cout << out.dump() << std::endl;
  return 0;
}

struct CheckArgs {
  std::string file, log_key, cosigner_key, cert, keys;
};

int AuditCheckProofCommand(const CheckArgs& a) {
  auto fail = [](const Status& s, int code) {
    std::cout << nlohmann::json{{"ok", false}, {"error", s.ToString()}}.dump() << std::endl;
    return code;
  };
  Env* env = Env::Default();
  Result<std::string> text = env->ReadFile(a.file, 16 << 20);
  if (!text.ok()) return fail(text.status(), 2);
  Result<log::LogVerifier> key = log::LogVerifier::Parse(a.log_key);
  if (!key.ok()) return fail(key.status().WithContext("--log-key"), 2);
  std::optional<log::LogVerifier> cosigner;
  if (!a.cosigner_key.empty()) {
    Result<log::LogVerifier> k = log::LogVerifier::Parse(a.cosigner_key);
    if (!k.ok()) return fail(k.status().WithContext("--cosigner-key"), 2);
    cosigner = std::move(*k);
  }
  Result<std::string> cert_text = env->ReadFile(a.cert, 1 << 20);
  Result<ca::X509Ptr> cert = cert_text.ok() ? ca::ParseCertificate(*cert_text) : cert_text.status();
  Result<std::string> der = cert.ok() ? ca::CertificateDer(cert->get()) : cert.status();
  if (!der.ok()) return fail(der.status().WithContext("--cert"), 2);
  Result<audit::TlogProof> proof = audit::TlogProof::Parse(*text);
  if (!proof.ok()) return fail(proof.status(), 1);
  // The log's key rotations: --keys, else FILE.keys when `audit prove` wrote one.
  std::vector<audit::KeyRotationProof> rotations;
  const std::string keys_file = !a.keys.empty() ? a.keys : a.file + ".keys";
  if (!a.keys.empty() || env->FileExists(keys_file)) {
    Result<std::string> keys_text = env->ReadFile(keys_file, 16 << 20);
    if (!keys_text.ok()) return fail(keys_text.status().WithContext("--keys"), 2);
    Result<std::vector<audit::KeyRotationProof>> parsed = audit::ParseKeyRotations(*keys_text);
    if (!parsed.ok()) return fail(parsed.status().WithContext(keys_file), 1);
    rotations = std::move(*parsed);
  }
  Result<audit::ProofCheck> r = audit::CheckProof(*proof, *key, cosigner, AsBytes(*der), rotations);
  if (!r.ok()) return fail(r.status(), 1);
  nlohmann::json out = {{"ok", true},           {"log", r->log},
                        {"seq", r->seq},         {"tree_size", r->tree_size},
                        {"serial", r->serial_hex}, {"device_serial", r->device_serial},
                        {"batch", r->batch_id},  {"cosigned", r->cosigned},
                        {"key_rotations", r->key_rotations}};
  if (r->cosigned) out["cosigned_at"] = r->cosigned_at;
  std::cout << out.dump() << std::endl;
  return 0;
}

struct ReplayArgs {
  std::string data, at, serial, batch, index;
  bool no_index = false;
};

int AuditReplayCommand(const ReplayArgs& a) {
  auto fail = [](const Status& st, int code) {
    std::cout << nlohmann::json{{"ok", false}, {"error", st.ToString()}}.dump() << std::endl;
    return code;
  };
  Result<int64_t> at = ParseUtcTime(a.at);
  if (!at.ok()) return fail(at.status().WithContext("--at"), 2);
  audit::ReplayQuery q;
  q.at = *at + 999999;  // the whole second counts
  q.batch = a.batch;
  if (!a.serial.empty()) {
    Result<Bytes> serial = HexDecode(a.serial);
    if (!serial.ok()) return fail(serial.status().WithContext("--serial"), 2);
    q.serial = std::move(*serial);
  }
  const auto start = std::chrono::steady_clock::now();
  Result<audit::ReplayAnswer> r =
      audit::Replay(a.data, q, {.index_dir = a.index, .use_index = !a.no_index});
  if (!r.ok()) return fail(r.status(), 2);
  nlohmann::json out = {{"ok", true}, {"at", a.at}, {"events_replayed", r->events},
                        {"hq_cosigned_sizes", r->cosigned}};
  nlohmann::json how = {{"method", r->method},
                        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
  if (r->method == "index") {
    how["snapshot"] = r->snapshot_time != 0 ? nlohmann::json(FormatUtcTime(r->snapshot_time)) : nlohmann::json();
    how["replayed_after_snapshot"] = r->replayed_after_snapshot;
    how["unindexed_events"] = r->unindexed_events;
  }
  if (!r->note.empty()) how["note"] = r->note;
  out["replay"] = how;
  if (r->certificate) {
    const audit::CertificateAt& c = *r->certificate;
    nlohmann::json j = {{"serial", a.serial}, {"state", c.state}};
    if (c.issued) {
      j["issued"] = {{"log", c.issued_in}, {"seq", c.issued_seq}, {"time_us", c.issued_time},
                     {"signed_by", c.signed_by}, {"batch", c.batch}, {"device_serial", c.device_serial}};
    }
    if (!c.revoked_in.empty()) {
      j["revocation"] = {{"log", c.revoked_in}, {"seq", c.revoked_seq}, {"reason", c.reason},
                         {"time_us", c.revocation_time}};
    }
    out["certificate"] = j;
  }
  if (r->batch) {
    out["batch"] = {{"batch", a.batch},           {"authorized", r->batch->authorized},
                    {"issued", r->batch->issued},  {"rejected", r->batch->rejected},
                    {"revoked", r->batch->revoked}, {"on_hold", r->batch->on_hold}};
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

struct ReportArgs {
  std::string data, from, to, out;
};

int AuditReportCommand(const ReportArgs& a) {
  auto fail = [](const Status& st) {
    std::cout << nlohmann::json{{"ok", false}, {"error", st.ToString()}}.dump() << std::endl;
    return 2;
  };
  Result<int64_t> from = ParseUtcTime(a.from);
  if (!from.ok()) return fail(from.status().WithContext("--from"));
  Result<int64_t> to = ParseUtcTime(a.to);
  if (!to.ok()) return fail(to.status().WithContext("--to"));
  Result<audit::StoreLogs> logs = audit::OpenStoreLogs(a.data);
  if (!logs.ok()) return fail(logs.status());
  audit::ReportOptions o;
  o.from = *from;
  o.to = *to + 999999;  // the whole last second
  o.store_label = a.data;
  o.generated_at = Env::Default()->NowMicros();
  Result<nlohmann::json> report = audit::BuildAuditReport(*logs, o);
  if (!report.ok()) return fail(report.status());
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) return fail(Status::IOError("cannot create " + a.out + ": " + ec.message()));
  const std::string json_text = report->dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  Status s = Env::Default()->WriteFileAtomic(a.out + "/report.json", json_text, 0644);
  if (s.ok()) s = Env::Default()->WriteFileAtomic(a.out + "/report.html", audit::RenderReportHtml(*report), 0644);
  if (!s.ok()) return fail(s);
  std::cout << nlohmann::json{{"ok", true},
                              {"out", a.out},
                              {"totals", (*report)["totals"]},
                              {"anomaly_counts", (*report)["anomaly_counts"]}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << std::endl;
  return 0;
}

struct IndexArgs {
  std::string data, index;
  uint64_t every = 65536;
};

int AuditIndexCommand(const IndexArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  auto fail = [](const Status& st) {
    std::cout << nlohmann::json{{"ok", false}, {"error", st.ToString()}}.dump() << std::endl;
    return 2;
  };
  Result<audit::StoreLogs> logs = audit::OpenStoreLogs(a.data);
  if (!logs.ok()) return fail(logs.status());
  std::unique_ptr<ProgressLine> bar;
  audit::ReplayIndexOptions o;
  o.every = a.every;
  o.progress = [&](uint64_t done, uint64_t total) {
    if (!bar) bar = std::make_unique<ProgressLine>("index");
    bar->Update(done, total);
  };
  const std::string dir = a.index.empty() ? audit::DefaultReplayIndexDir(a.data) : a.index;
  Result<audit::ReplayIndexStats> st = audit::BuildReplayIndex(*logs, dir, o);
  bar.reset();
  if (!st.ok()) return fail(st.status());
  std::cout << nlohmann::json{{"ok", true},
                              {"index", dir},
                              {"rebuilt", st->rebuilt},
                              {"events_merged", st->events_merged},
                              {"events_indexed", st->events_indexed},
                              {"snapshots", st->snapshots},
                              {"snapshots_dropped", st->snapshots_dropped},
                              {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                                              .count()}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace

void AddAuditCommands(CLI::App& app, int* exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Auditor's commands: verify a node's store");
  audit->require_subcommand(1);
  auto va = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Verify every log held (signatures, chain, Merkle tree, checkpoints, cosignatures, "
      "consistency) and the projections; one-line JSON verdict, exit 0 only if all holds");
  verify->add_option("--data", va->data, "the node's data directory (data_dir of its config)")
      ->required();
  verify->add_option("--threads", va->threads, "threads verifying signatures (default: all CPUs)");
  verify->add_option("--memory-mib", va->memory_mib,
                     "memory for the projection rebuild before it moves to a scratch store "
                     "(default 2048; about 500 MiB per million events)")
      ->check(CLI::Range(1, 1 << 20));
  verify->add_option("--certificate", va->certificates,
                     "a certificate (PEM or DER file) that must be a certificateIssued event of a log allowed to "
                     "carry it, e.g. HQ's OCSP responder certificates (repeatable)");
  verify->callback([va, exit_code] { *exit_code = AuditVerifyCommand(*va); });

  auto ra = std::make_shared<ReplayArgs>();
  CLI::App* replay = audit->add_subcommand(
      "replay", "The state as of an instant, replayed from the events: a certificate, a batch, HQ's cosigned sizes");
  replay->add_option("--data", ra->data, "a node's data directory")->required();
  replay->add_option("--at", ra->at, "YYYY-MM-DDTHH:MM:SSZ")->required();
  auto* rs = replay->add_option("--serial", ra->serial, "certificate serial, hex");
  auto* rb = replay->add_option("--batch", ra->batch, "batch id");
  rs->excludes(rb);
  replay->add_option("--index", ra->index, "replay index directory (default: DATA/audit-index, used if present)");
  replay->add_flag("--no-index", ra->no_index, "replay every event from the start, ignoring any index");
  replay->callback([ra, exit_code] { *exit_code = AuditReplayCommand(*ra); });

  auto rpa = std::make_shared<ReportArgs>();
  CLI::App* report = audit->add_subcommand(
      "report", "Write report.html (self-contained: inline CSS and SVG) and report.json for a period");
  report->add_option("--data", rpa->data, "a node's data directory")->required();
  report->add_option("--from", rpa->from, "period start, YYYY-MM-DDTHH:MM:SSZ")->required();
  report->add_option("--to", rpa->to, "period end (inclusive), YYYY-MM-DDTHH:MM:SSZ")->required();
  report->add_option("--out", rpa->out, "output directory (created)")->required();
  report->callback([rpa, exit_code] { *exit_code = AuditReportCommand(*rpa); });

  auto ia = std::make_shared<IndexArgs>();
  CLI::App* index = audit->add_subcommand(
      "index", "Build or bring up to date the replay index (per-serial events, snapshots by log position)");
  index->add_option("--data", ia->data, "a node's data directory")->required();
  index->add_option("--index", ia->index, "index directory (default: DATA/audit-index)");
  index->add_option("--every", ia->every, "events between snapshots (default 65536)")->check(CLI::Range(1, 1 << 30));
  index->callback([ia, exit_code] { *exit_code = AuditIndexCommand(*ia); });

  auto pa = std::make_shared<ProveArgs>();
  CLI::App* prove = audit->add_subcommand(
      "prove", "Write an offline proof (C2SP tlog-proof) that a certificate was issued by a factory log");
  prove->add_option("--data", pa->data, "a node's data directory holding the factory log")->required();
  prove->add_option("--serial", pa->serial, "certificate serial, hex")->required();
  prove->add_option("--out", pa->out, "proof file to write (.tlog-proof)")->required();
  prove->callback([pa, exit_code] { *exit_code = AuditProveCommand(*pa); });

  auto ca_args = std::make_shared<CheckArgs>();
  CLI::App* check = audit->add_subcommand(
      "check-proof", "Check an issuance proof offline (no database): exit 0 only if it holds");
  check->add_option("file", ca_args->file, "the proof file")->required();
  check->add_option("--log-key", ca_args->log_key, "the factory log's verifier key")->required();
  check->add_option("--cosigner-key", ca_args->cosigner_key, "HQ's verifier key: also require its cosignature");
  check->add_option("--cert", ca_args->cert, "the device certificate (PEM or DER)")->required();
  check->add_option("--keys", ca_args->keys,
                    "the log's key rotations under the checkpoint (default: FILE.keys, written by audit prove)");
  check->callback([ca_args, exit_code] { *exit_code = AuditCheckProofCommand(*ca_args); });
}

}  // namespace mirrorca::cli
