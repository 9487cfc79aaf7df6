#include "cli/demo_command.h"
#include "cli/demo_scenario.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "base/encoding.h"
#include "base/env.h"
#include "log/checkpoint.h"
#include "log/local_log.h"
#include "log/log_verification.h"
#include "log/merkle.h"

namespace mirrorca::cli {
namespace {

struct DemoArgs {
  std::string dir;
  uint64_t events = 20000;
  bool log_only = false;
  int devices = 100;
  int factories = 1;
  DemoKeys keys;
};

void Step(int n, const std::string& what) { std::cout << "\n[" << n << "] " << what << "\n"; }

int Fail(const Status& s) {
  std::cerr << "demo failed: " << s.ToString() << "\n";
  return 2;
}

// AppendConcurrently appends `count` synthetic events from 16 threads, one
// event per Append, the way many RA requests arrive at once.
Status AppendConcurrently(log::EventLog& el, uint64_t count) {
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < 16; ++t) {
    pool.emplace_back([&, t] {
      for (uint64_t i = next++; i < count && !failed; i = next++) {
        std::vector<log::EventDraft> drafts(1);
        auto ev = drafts[0].event().getKind().initTestEvent();
        ev.setNote("demo event " + std::to_string(i) + " from appender " + std::to_string(t));
        if (!el.Append(std::move(drafts)).ok()) failed = true;
      }
    });
  }
  for (auto& th : pool) th.join();
  return failed ? Status::IOError("an append failed") : Status::Ok();
}

int RunDemo(const DemoArgs& a) {
  std::string dir = a.dir;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mirrorca-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Fail(Status::IOError("mkdtemp failed"));
    dir = tmpl;
  }
  const std::string node = dir + "/factory";
  Env* env = Env::Default();
  std::cout << "mirrorca demo — the signed event log (files in " << dir << ")\n";

  Step(1, "Create a factory log: RocksDB store + Ed25519 log key (0600)");
  Result<log::LocalLog> local = log::InitLocalLog(env, node, "factory.demo/log");
  if (!local.ok()) return Fail(local.status());
  log::EventLog& el = *local->log;
  std::cout << "    verifier key: " << el.verifier().VerifierKey() << "\n";

  Step(2, "Append " + std::to_string(a.events) + " events from 16 concurrent appenders");
  auto start = std::chrono::steady_clock::now();
  if (Status s = AppendConcurrently(el, a.events / 2); !s.ok()) return Fail(s);
  Result<std::string> early = el.SignCheckpoint();
  if (!early.ok()) return Fail(early.status());
  if (Status s = AppendConcurrently(el, a.events - a.events / 2); !s.ok()) return Fail(s);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "    " << el.Size() << " durable events in " << el.CommittedGroups()
            << " group commits (fsyncs), " << static_cast<uint64_t>(el.Size() / secs)
            << " events/s\n";

  Step(3, "Sign a checkpoint (C2SP tlog-checkpoint as a signed note)");
  Result<std::string> note = el.SignCheckpoint();
  if (!note.ok()) return Fail(note.status());
  std::cout << *note;
  log::Checkpoint cp = *log::OpenCheckpoint(*note, el.verifier());
  log::Checkpoint old = *log::OpenCheckpoint(*early, el.verifier());

  Step(4, "Prove event 4242 is in the tree, and the earlier checkpoint is a prefix (RFC 9162)");
  uint64_t index = std::min<uint64_t>(4242, cp.tree_size - 1);
  Result<std::vector<crypto::Hash>> inclusion = el.InclusionProof(index, cp.tree_size);
  Result<crypto::Hash> leaf = el.LeafHashAt(index);
  if (!inclusion.ok() || !leaf.ok()) return Fail(Status::Internal("inclusion proof failed"));
  Status inc = log::VerifyInclusion(index, cp.tree_size, *leaf, *inclusion, cp.root_hash);
  Result<std::vector<crypto::Hash>> consistency = el.ConsistencyProof(old.tree_size, cp.tree_size);
  if (!consistency.ok()) return Fail(consistency.status());
  Status con = log::VerifyConsistency(old.tree_size, cp.tree_size, old.root_hash, cp.root_hash,
                                      *consistency);
  std::cout << "    inclusion of " << index << " in " << cp.tree_size << ": " << inclusion->size()
            << " hashes, " << (inc.ok() ? "verified" : inc.ToString()) << "\n"
            << "    consistency " << old.tree_size << " -> " << cp.tree_size << ": "
            << consistency->size() << " hashes, " << (con.ok() ? "verified" : con.ToString())
            << "\n";
  if (!inc.ok() || !con.ok()) return 1;

  Step(5, "Verify the whole log: signatures, chain, Merkle tree, checkpoints (both cores)");
  Result<log::VerifyReport> report = log::VerifyLog(el);
  if (!report.ok()) return Fail(report.status());
  std::cout << "    " << report->Summary(el.origin()) << "\n";
  if (!report->ok) return 1;

  Step(6, "Tamper with a copy: flip one byte of event 1234, then verify again");
  local = Result<log::LocalLog>(Status::Unavailable("closed"));  // close the store
  const std::string copy = dir + "/tampered";
  std::filesystem::copy(node, copy, std::filesystem::copy_options::recursive);
  Result<log::LocalLog> tampered = log::OpenLocalLog(env, copy, /*with_key=*/false);
  if (!tampered.ok()) return Fail(tampered.status());
  uint64_t victim = std::min<uint64_t>(1234, tampered->log->Size() - 1);
  std::string bytes = *tampered->log->ReadSignedEvent(victim);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x20);
  rocksdb::WriteBatch batch;
  batch.Put(tampered->store->events(), log::EventKey(tampered->log->key_prefix(), victim), bytes);
  if (Status s = tampered->store->WriteDurably(&batch); !s.ok()) return Fail(s);
  Result<log::VerifyReport> bad = log::VerifyLog(*tampered->log);
  if (!bad.ok()) return Fail(bad.status());
  std::cout << "    " << bad->Summary(tampered->log->origin()) << "\n";
  if (bad->ok) return 1;

  std::cout << "\nDone. Try:\n"
            << "  mirrorca log verify --data " << node << "\n"
            << "  mirrorca log checkpoint --data " << node << "\n"
            << "  mirrorca log prove --data " << node << " --index 7 --size " << cp.tree_size << "\n"
            << "  mirrorca log export --data " << node << " --from 0 --to 3\n";
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo", "Run the end-to-end demonstration on embedded defaults");
  demo->add_option("--dir", args->dir, "Directory for the demo's files (default: a new temp dir)");
  demo->add_option("--devices", args->devices, "Device certificates to issue")
      ->check(CLI::Range(3, 100000));
  demo->add_option("--factories", args->factories, "Factories onboarded at one HQ, each with its CA and batch B1")
      ->check(CLI::Range(1, 20));
  demo->add_option("--key", args->keys.keys,
                   "Key store for every CA and TLS key: pkcs11:token=LABEL?pin-source=file:PATH|env:VAR");
  demo->add_option("--log-key", args->keys.log_keys, "Key store for every log key (a token of its own)");
  demo->add_flag("--log", args->log_only,
                 "Only the event-log scenario (append, checkpoint, proofs, tamper detection)");
  demo->add_option("--events", args->events, "--log: events to append")
      ->check(CLI::Range(2000, 10000000));
  demo->callback([exit_code, args] {
    *exit_code = args->log_only ? RunDemo(*args) : RunFullDemo(args->dir, args->devices, args->factories, args->keys);
  });
}

}  // namespace mirrorca::cli
