// LogAuthority: who may say what — the one table of which log may carry
// which event kind, and about what (docs/trust_model.md). HQ trusts each
// factory's log for its own issuance and nothing else; only HQ's log
// registers factories, authorizes batches, revokes and publishes CRLs.
//
//   log        may carry                                   about
//   factory F  certificateIssued                           a CA registered for F, a batch HQ authorized for F
//              batchClosed                                 a batch HQ authorized for F
//              issuanceRejected, testEvent                 (a refusal or a test: changes no status)
//   HQ         factoryRegistered, factoryRemoved,          any factory, by name; a registration may not
//              batchAuthorized, certificateRevoked,        reuse another factory's name, origin or CA;
//              crlPublished, caRegistered,                 a batch only for a registered factory, under
//              checkpointCosigned, syncSession,            one of its CAs
//              logAnomaly, certificateIssued (the
//              certificates HQ itself signs), testEvent
//   HQ's delivery log "<HQ>/to/<name>"             relayed (and nothing else): HQ's own events
//                                                  addressed to that factory (engine/delivery_log.h)
//
// What the factories own is learned from HQ's log (factoryRegistered,
// batchAuthorized), so an auditor holding only the logs applies the same
// table. Every place where events enter or count applies Check: the sync and
// bundle import (a violation refuses the transfer and is recorded as a
// logAnomaly), the status projection and the batch ledger (a violating
// event is never projected), `audit verify` and `audit replay`.
//
// A removed factory stays in the table (what it issued before stays
// projected, so a rebuild equals the incremental projection); Active says
// whether new events from it are accepted.
//
// Thread-safety: Check, Factory* and Active may run concurrently with each
// other and with CatchUp / Learn (a reader–writer lock).
#ifndef MIRRORCA_ENGINE_LOG_AUTHORITY_H_
#define MIRRORCA_ENGINE_LOG_AUTHORITY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "log/event_log.h"
#include "log/events.capnp.h"

namespace mirrorca::engine {

// The rules; RuleName gives each a stable name (anomalies, verdicts, docs).
enum class AuthorityRule {
  kKindNotOwned,       // "kind-not-owned": the other side's kind of event
  kUnknownLog,         // "unknown-log": neither HQ's log nor a registered factory's
  kForeignCa,          // "foreign-ca": issuance under a CA not registered for this factory
  kForeignBatch,       // "foreign-batch": a batch HQ did not authorize for this factory
  kUnknownFactory,     // "unknown-factory": an HQ event for a factory never registered
  kConflictingFactory, // "conflicting-factory": a registration reusing another factory's name, origin or CA
  kBadKey,             // "bad-key": a cosignerKeySet whose key does not parse or is not named as HQ's cosigner
};
std::string_view RuleName(AuthorityRule rule);

struct AuthorityViolation {
  AuthorityRule rule;
  std::string detail;
  std::string ToString() const;  // "<rule>: <detail>"
};

// FactoryScope: what one factory owns.
struct FactoryScope {
  std::string name;
  std::string log_origin;
  std::string log_key;
  std::set<std::string> ca_ids;         // SHA-256 of each issuing CA's SPKI (32 raw bytes)
  std::vector<Bytes> ca_certificates;   // DER, as registered
  std::set<std::string> sync_spki;      // hex
  std::set<std::string> batches;        // authorized for it by HQ
  bool removed = false;
};

class LogAuthority {
 public:
  explicit LogAuthority(std::string hq_origin) : hq_origin_(std::move(hq_origin)) {}

  const std::string& hq_origin() const { return hq_origin_; }

  // CatchUp learns the HQ-log events appended since the last call (seq
  // order). Corruption for an event that does not parse. At a factory the
  // log may be its delivery log (engine/delivery_log.h): the HQ events it
  // relays, each checked against HQ's signature, are learned.
  Status CatchUp(log::EventLog& hq_log);
  // Learn applies one HQ-log event (registration, removal, batch
  // authorization); events that break the table teach nothing.
  void Learn(log::schema::Event::Reader event);
  // LearnedUpTo: the next HQ seq CatchUp would read.
  uint64_t LearnedUpTo() const;

  // Check returns nullopt when the log `origin` may carry `event`, else the
  // rule it breaks.
  std::optional<AuthorityViolation> Check(const std::string& origin,
                                          log::schema::Event::Reader event) const;
  // CheckSigned parses a stored signed event and checks it; Corruption when
  // it does not parse.
  Result<std::optional<AuthorityViolation>> CheckSigned(const std::string& origin,
                                                        ByteSpan signed_event) const;

  // IsDeliveryOf: `origin` is a delivery log of this HQ ("<hq>/to/<name>"),
  // which may carry relayed HQ events and nothing else.
  bool IsDeliveryOf(const std::string& origin) const;
  // Active: `origin` is a registered factory not removed.
  bool Active(const std::string& origin) const;
  std::optional<FactoryScope> Factory(const std::string& origin) const;
  std::optional<FactoryScope> FactoryNamed(const std::string& name) const;
  std::vector<FactoryScope> Factories() const;  // by origin
  // FactoryOfCa: the origin of the factory that registered `ca_id`, if any.
  std::optional<std::string> FactoryOfCa(ByteSpan ca_id) const;

 private:
  // LearnAt learns `event`; `next` is the position after it in the log
  // learned from (HQ's seq, or the delivery log's for a relayed event).
  void LearnAt(log::schema::Event::Reader event, uint64_t next);
  std::optional<AuthorityViolation> CheckLocked(const std::string& origin,
                                                log::schema::Event::Reader event) const;
  std::optional<AuthorityViolation> CheckRegistration(
      log::schema::FactoryRegistered::Reader r) const;

  const std::string hq_origin_;
  mutable std::shared_mutex mu_;
  std::map<std::string, FactoryScope> factories_;  // by origin; guarded by mu_
  std::map<std::string, std::string> origin_of_ca_;  // caId -> origin; guarded by mu_
  uint64_t learned_ = 0;                          // guarded by mu_
};

// BatchRef: a batch named as the CLI and the audit tools name it.
struct BatchRef {
  std::string factory;         // the name HQ registered
  std::string factory_origin;  // its log
  std::string batch;
};
// ResolveBatchRef resolves "FACTORY/BATCH" (a bare "BATCH" while exactly one
// factory is registered) against `authority`. InvalidArgument for a
// malformed or ambiguous name, NotFound for a factory never registered.
Result<BatchRef> ResolveBatchRef(const LogAuthority& authority, const std::string& ref);
// ResolveFactory returns the registered factory called `name` (an empty
// name: the only one registered); NotFound (naming the registered ones)
// otherwise.
Result<FactoryScope> ResolveFactory(const LogAuthority& authority, const std::string& name);

// FactoryRegistration: what `RegisterFactory` records.
struct FactoryRegistration {
  std::string name;
  std::string log_key;                 // C2SP verifier key; the origin is its name
  std::vector<Bytes> ca_certificates;  // DER
  std::set<std::string> sync_spki;
  Bytes ca_key_fingerprint;
};

// RegisterFactory appends a factoryRegistered event to HQ's log unless the
// authority already holds the same registration (idempotent: a node that
// registers its configured factories at every start writes once), then
// catches `authority` up. Returns whether an event was written;
// InvalidArgument when the registration breaks the table (a name, origin or
// CA of another factory), FailedPrecondition for a factory HQ removed (a
// restart with it still in hq.toml must not bring it back) — nothing is
// written then.
Result<bool> RegisterFactory(log::EventLog& hq_log, LogAuthority& authority,
                             const FactoryRegistration& registration);

// RemoveFactory appends factoryRemoved; NotFound for an unknown origin.
Status RemoveFactory(log::EventLog& hq_log, LogAuthority& authority, const std::string& origin,
                     const std::string& reason);

// CaIdOfCertificate: SHA-256 of a DER certificate's SubjectPublicKeyInfo
// (the caId of events); InvalidArgument when it does not parse.
Result<Bytes> CaIdOfCertificate(ByteSpan der);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_LOG_AUTHORITY_H_
