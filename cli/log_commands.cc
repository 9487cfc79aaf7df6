#include "cli/log_commands.h"

#include "base/status_macros.h"
#include "crypto/key_store.h"
#include "engine/delivery_log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/encoding.h"
#include "base/env.h"
#include "log/event_codec.h"
#include "log/local_log.h"
#include "log/log_verification.h"
#include "log/merkle.h"

namespace mirrorca::cli {
namespace {

using log::EventDraft;
using log::LocalLog;

struct LogArgs {
  std::string data;
  std::string origin;
  uint64_t count = 0;
  uint64_t batch = 1;
  unsigned threads = 1;
  bool report_acks = false;
  uint64_t from = 0;
  uint64_t to = UINT64_MAX;
  uint64_t index = 0;
  uint64_t size = 0;
  uint64_t interval = 1000;
  std::vector<std::string> trusted;
  std::string log_origin;  // verify: another log held in the store (a mirror copy)
  std::string key_store;   // rotate-key: where the new key goes
  std::string reason;      // rotate-key
  // append-test: the kind of synthetic event — "test", or a crafted event an
  // attack test needs the node's own key to sign: "revocation" (of --serial
  // under --ca-id), "crl-number" (for --ca-id).
  std::string kind = "test";
  std::string ca_id_hex, serial_hex;
};

int Fail(const Status& s) {
  std::cerr << "error: " << s.ToString() << "\n";
  return 2;
}

Result<LocalLog> Open(const LogArgs& a, bool with_key) {
  return log::OpenLocalLog(Env::Default(), a.data, with_key,
                           log::EventLogOptions{.checkpoint_interval = a.interval});
}

int Init(const LogArgs& a) {
  Result<LocalLog> l = log::InitLocalLog(Env::Default(), a.data, a.origin);
  if (!l.ok()) return Fail(l.status());
  std::cout << "initialized log " << a.origin << " in " << a.data << "\n"
            << "verifier key: " << l->log->verifier().VerifierKey() << "\n";
  return 0;
}

int AppendTest(const LogArgs& a) {
  Result<Bytes> ca_id = HexDecode(a.ca_id_hex);
  Result<Bytes> serial = HexDecode(a.serial_hex);
  if (!ca_id.ok() || !serial.ok()) return Fail(Status::InvalidArgument("--ca-id and --serial are hex"));
  if (a.kind != "test" && (ca_id->size() != 32 || (a.kind == "revocation" && serial->empty()))) {
    return Fail(Status::InvalidArgument("--kind " + a.kind + " needs --ca-id (32 bytes hex)" +
                                        (a.kind == "revocation" ? " and --serial" : "")));
  }
  Result<LocalLog> l = Open(a, true);
  if (!l.ok()) return Fail(l.status());
  log::EventLog& el = *l->log;
  const uint64_t start_size = el.Size();
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex out_mu;
  auto start = std::chrono::steady_clock::now();
  auto worker = [&](unsigned t) {
    for (;;) {
      uint64_t begin = next.fetch_add(a.batch);
      if (begin >= a.count || failed) return;
      uint64_t n = std::min(a.batch, a.count - begin);
      std::vector<EventDraft> drafts;
      for (uint64_t i = 0; i < n; ++i) {
        EventDraft d;
        if (a.kind == "revocation") {
          auto r = d.event().getKind().initCertificateRevoked();
          r.setCaId(capnp::Data::Reader(ca_id->data(), ca_id->size()));
          r.setSerial(capnp::Data::Reader(serial->data(), serial->size()));
          r.setReason(log::schema::RevocationReason::KEY_COMPROMISE);
          r.setRequestedBy("append-test");
        } else if (a.kind == "crl-number") {
          auto c = d.event().getKind().initCrlPublished();
          c.setCaId(capnp::Data::Reader(ca_id->data(), ca_id->size()));
          c.setCrlNumber((uint64_t{1} << 30) + begin + i);
        } else {
          auto ev = d.event().getKind().initTestEvent();
          ev.setNote("append-test " + std::to_string(begin + i) + " thread " + std::to_string(t));
          auto payload = ev.initPayload(64);
          for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<kj::byte>(j + i);
        }
        drafts.push_back(std::move(d));
      }
      Result<log::AppendResult> r = el.Append(std::move(drafts));
      if (!r.ok()) {
        failed = true;
        std::lock_guard lock(out_mu);
        std::cerr << "error: " << r.status().ToString() << "\n";
        return;
      }
      if (a.report_acks) {
        // One line per acknowledged (durable) append, for crash tests.
        std::lock_guard lock(out_mu);
        std::printf("ack %llu %llu\n", static_cast<unsigned long long>(r->first_seq),
                    static_cast<unsigned long long>(r->count));
        std::fflush(stdout);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < a.threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& t : pool) t.join();
  if (failed) return 2;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t appended = el.Size() - start_size;
  std::cout << "appended " << appended << " events to " << el.origin() << ": size " << el.Size()
            << ", " << static_cast<uint64_t>(appended / std::max(secs, 1e-9)) << " events/s, "
            << el.CommittedGroups() << " group commits\n";
  return 0;
}

// OpenSelected opens the store read-only with the log --log names (a copy
// it holds), or the node's own.
// OpenSelected opens the store read-only (it writes nothing: a full disk
// does not stop a verification) and the log `--log` names.
Result<LocalLog> OpenSelected(const LogArgs& a) {
  ASSIGN_OR_RETURN(LocalLog l, log::OpenLocalLog(Env::Default(), a.data, /*with_key=*/false,
                                                 log::EventLogOptions{.checkpoint_interval = a.interval,
                                                                      .read_only_store = true}));
  if (!a.log_origin.empty()) {
    l.log.reset();
    ASSIGN_OR_RETURN(l.log, log::EventLog::Open(l.store.get(), a.log_origin, std::nullopt));
  }
  return l;
}

int Verify(const LogArgs& a) {
  Result<LocalLog> l = OpenSelected(a);
  if (!l.ok()) return Fail(l.status());
  log::VerifyOptions o;
  for (const std::string& path : a.trusted) {
    Result<std::string> note = Env::Default()->ReadFile(path, 1 << 20);
    if (!note.ok()) return Fail(note.status());
    o.trusted_checkpoints.push_back(*note);
  }
  if (::isatty(STDERR_FILENO)) {
    o.progress = [](uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rverifying %llu/%llu", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total));
    };
  }
  auto start = std::chrono::steady_clock::now();
  Result<log::VerifyReport> r = log::VerifyLog(*l->log, o);
  if (o.progress) std::fprintf(stderr, "\n");
  if (!r.ok()) return Fail(r.status());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << r->Summary(l->log->origin());
  if (r->ok) {
    std::cout << " (" << static_cast<uint64_t>(r->events / std::max(secs, 1e-9))
              << " events/s)";
  }
  std::cout << "\n";
  return r->ok ? 0 : 1;
}

int Checkpoint(const LogArgs& a) {
  Result<LocalLog> l = Open(a, true);
  if (!l.ok()) return Fail(l.status());
  Result<std::string> note = l->log->SignCheckpoint();
  if (!note.ok()) return Fail(note.status());
  std::cout << *note;
  return 0;
}

int Pubkey(const LogArgs& a) {
  Result<LocalLog> l = Open(a, false);
  if (!l.ok()) return Fail(l.status());
  std::cout << l->log->verifier().VerifierKey() << "\n";
  return 0;
}

int RotateKey(const LogArgs& a) {
  std::optional<crypto::KeyStore> keys;
  if (!a.key_store.empty()) {
    Result<crypto::KeyStore> parsed = crypto::ParseKeyStore(a.key_store);
    if (!parsed.ok()) return Fail(parsed.status().WithContext("--key"));
    keys = std::move(*parsed);
  }
  Result<log::KeyRotation> r = log::RotateLocalLogKey(Env::Default(), a.data, a.reason, keys);
  if (!r.ok()) return Fail(r.status());
  std::cout << nlohmann::json{{"ok", true},
                              {"rotation_seq", r->rotation_seq},
                              {"old_key", r->old_key},
                              {"new_key", r->new_key}}
                   .dump()
            << "\n";
  return 0;
}

// Keys prints the chain of keys of a log: the first (the one peers pin) and
// every rotation since.
int Keys(const LogArgs& a) {
  Result<LocalLog> l = OpenSelected(a);
  if (!l.ok()) return Fail(l.status());
  nlohmann::json keys = nlohmann::json::array();
  for (const log::KeyEpoch& e : l->log->keys()->epochs()) {
    keys.push_back({{"from_seq", e.from}, {"key", e.key.VerifierKey()}});
  }
  std::cout << nlohmann::json{{"log", l->log->origin()}, {"keys", keys}}.dump() << "\n";
  return 0;
}

int Export(const LogArgs& a) {
  Result<LocalLog> l = OpenSelected(a);
  if (!l.ok()) return Fail(l.status());
  uint64_t to = std::min(a.to, l->log->Size());
  if (a.from > to) return Fail(Status::OutOfRange("--from is beyond --to or the log size"));
  uint64_t expected = a.from;
  Status s = l->log->ForEach(a.from, to, [&](uint64_t seq, std::string_view bytes) -> Status {
    if (seq != expected) return Status::Corruption("event " + std::to_string(expected) + " missing");
    ++expected;
    Result<log::ParsedEvent> p = log::ParsedEvent::Parse(AsBytes(bytes));
    if (!p.ok()) return p.status().WithContext("seq " + std::to_string(seq));
    nlohmann::ordered_json j;
    j["seq"] = seq;
    j["signed_event"] = Base64Encode(AsBytes(bytes));
    j["body"] = Base64Encode(p->body());
    j["signature"] = Base64Encode(p->signature());
    j["kind"] = std::string(log::KindName(p->event().getKind().which()));
    if (!engine::AddresseeOf(p->event()).empty()) j["about"] = engine::AddresseeOf(p->event());
    if (p->event().getKind().isRelayed()) {  // a delivery log: what HQ's event was
      auto r = p->event().getKind().getRelayed();
      Result<log::ParsedEvent> inner = log::ParsedEvent::Parse(ByteSpan(r.getSignedEvent().begin(), r.getSignedEvent().size()));
      j["hq_seq"] = r.getHqSeq();
      if (inner.ok()) {
        j["relayed_kind"] = std::string(log::KindName(inner->event().getKind().which()));
        if (!engine::AddresseeOf(inner->event()).empty()) j["about"] = engine::AddresseeOf(inner->event());
      }
    }
    std::cout << j.dump() << "\n";
    return Status::Ok();
  });
  if (s.ok() && expected != to) s = Status::Corruption("event " + std::to_string(expected) + " missing");
  return s.ok() ? 0 : Fail(s);
}

nlohmann::json HexList(const std::vector<crypto::Hash>& hashes) {
  nlohmann::json out = nlohmann::json::array();
  for (const crypto::Hash& h : hashes) out.push_back(HexEncode(h));
  return out;
}

int Prove(const LogArgs& a) {
  Result<LocalLog> l = Open(a, false);
  if (!l.ok()) return Fail(l.status());
  Result<std::vector<crypto::Hash>> proof = l->log->InclusionProof(a.index, a.size);
  if (!proof.ok()) return Fail(proof.status());
  Result<crypto::Hash> leaf = l->log->LeafHashAt(a.index);
  if (!leaf.ok()) return Fail(leaf.status());
  nlohmann::ordered_json j;
  j["leaf_index"] = a.index;
  j["tree_size"] = a.size;
  j["leaf_hash"] = HexEncode(*leaf);
  j["hashes"] = HexList(*proof);
  std::cout << j.dump() << "\n";
  return 0;
}

int Consistency(const LogArgs& a) {
  Result<LocalLog> l = Open(a, false);
  if (!l.ok()) return Fail(l.status());
  Result<std::vector<crypto::Hash>> proof = l->log->ConsistencyProof(a.from, a.to);
  if (!proof.ok()) return Fail(proof.status());
  nlohmann::ordered_json j;
  j["first"] = a.from;
  j["second"] = a.to;
  j["hashes"] = HexList(*proof);
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

void AddLogCommands(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<LogArgs>();
  CLI::App* log_cmd = app.add_subcommand("log", "Operate on a node's signed event log");
  log_cmd->require_subcommand(1);
  auto data = [&](CLI::App* c) {
    c->add_option("--data", args->data, "Data directory of the node")->required();
  };
  auto run = [exit_code, args](int (*fn)(const LogArgs&)) {
    return [exit_code, args, fn] { *exit_code = fn(*args); };
  };

  CLI::App* init = log_cmd->add_subcommand("init", "Create the store and an Ed25519 log key");
  data(init);
  init->add_option("--origin", args->origin, "Log name (checkpoint origin), e.g. factory.example/log")
      ->required();
  init->callback(run(Init));

  CLI::App* append = log_cmd->add_subcommand("append-test", "Append N synthetic events");
  data(append);
  append->add_option("--count", args->count, "Number of events")->required();
  append->add_option("--batch", args->batch, "Events per append call")->check(CLI::Range(1, 16384));
  append->add_option("--threads", args->threads, "Concurrent appenders")->check(CLI::Range(1, 256));
  append->add_option("--checkpoint-interval", args->interval, "Sign a checkpoint every N events")
      ->check(CLI::Range(1, 1 << 30));
  append->add_flag("--report-acks", args->report_acks,
                   "Print 'ack FIRST COUNT' after each durable append");
  append->add_option("--kind", args->kind,
                     "test (default), or a crafted event for attack tests: revocation, crl-number")
      ->check(CLI::IsMember({"test", "revocation", "crl-number"}));
  append->add_option("--ca-id", args->ca_id_hex, "revocation / crl-number: the caId (SHA-256 of the CA's SPKI, hex)");
  append->add_option("--serial", args->serial_hex, "revocation: the certificate serial (hex)");
  append->callback(run(AppendTest));

  CLI::App* verify = log_cmd->add_subcommand("verify", "Verify signatures, chain, tree, checkpoints");
  data(verify);
  verify->add_option("--trusted-checkpoint", args->trusted,
                     "A signed checkpoint held elsewhere that the log must match");
  verify->add_option("--log", args->log_origin,
                     "Origin of another log held in the store (a mirror copy); default: the node's own");
  verify->callback(run(Verify));

  CLI::App* checkpoint = log_cmd->add_subcommand("checkpoint", "Sign and print the current checkpoint");
  data(checkpoint);
  checkpoint->callback(run(Checkpoint));

  CLI::App* pubkey = log_cmd->add_subcommand("pubkey", "Print the C2SP verifier key");
  data(pubkey);
  pubkey->callback(run(Pubkey));

  CLI::App* rotate = log_cmd->add_subcommand(
      "rotate-key", "Rotate the node's log key: a logKeyRotated event signed by the old key names the new one");
  data(rotate);
  rotate->add_option("--key", args->key_store,
                     "Where the new key goes: files, or pkcs11:token=…?pin-source=… (default: where the old one is)");
  rotate->add_option("--reason", args->reason, "Why (recorded in the event)");
  rotate->callback(run(RotateKey));

  CLI::App* keys = log_cmd->add_subcommand("keys", "Print a log's chain of keys (first key and every rotation)");
  data(keys);
  keys->add_option("--log", args->log_origin, "Origin of another log held in the store; default: the node's own");
  keys->callback(run(Keys));

  CLI::App* exp = log_cmd->add_subcommand("export", "Print events [from, to) as JSON lines");
  data(exp);
  exp->add_option("--from", args->from, "First seq (inclusive)");
  exp->add_option("--to", args->to, "Last seq (exclusive); default: the log size");
  exp->add_option("--log", args->log_origin,
                  "Origin of another log held in the store (a mirror copy); default: the node's own");
  exp->callback(run(Export));

  CLI::App* prove = log_cmd->add_subcommand("prove", "RFC 9162 inclusion proof as JSON");
  data(prove);
  prove->add_option("--index", args->index, "Leaf index (seq)")->required();
  prove->add_option("--size", args->size, "Tree size")->required();
  prove->callback(run(Prove));

  CLI::App* cons = log_cmd->add_subcommand("consistency", "RFC 9162 consistency proof as JSON");
  data(cons);
  cons->add_option("--from", args->from, "First tree size")->required();
  cons->add_option("--to", args->to, "Second tree size")->required();
  cons->callback(run(Consistency));
}

}  // namespace mirrorca::cli
