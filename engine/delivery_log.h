// Delivery logs: what HQ sends each factory (docs/replication_protocol.md §9).
//
// A factory receives only what HQ addressed to it — its registration or
// removal, the batches HQ authorized for it, the cosignatures of its own
// log, the revocations of its own CAs' certificates — and still verifiably: HQ keeps one delivery log per factory, origin
// "<HQ origin>/to/<factory name>", signed with HQ's log key under that
// origin, whose every event is a `relayed` copy of one HQ-log event: its HQ
// seq and its signed bytes exactly as HQ's log stores them. The factory
// checks HQ's signature on the delivery log (chain, checkpoints,
// consistency) and on each relayed event; an auditor holding HQ's log
// checks that each relayed event is the one at its seq, byte for byte, and
// that nothing addressed to the factory was left out (AuditDelivery).
//
// Delivery logs live in a store of their own (HQ's `<data_dir>/delivery`),
// so the projections and audits of HQ's store never see an event twice.
//
// Thread-safety: Relay on one delivery log at a time (HQ relays under the
// factory's session lock); the rest are pure functions.
#ifndef MIRRORCA_ENGINE_DELIVERY_LOG_H_
#define MIRRORCA_ENGINE_DELIVERY_LOG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "base/result.h"
#include "log/event_codec.h"
#include "log/event_log.h"
#include "log/log_key.h"
#include "log/store.h"

namespace mirrorca::engine {

// DeliveryOrigin: "<hq_origin>/to/<factory_name>".
std::string DeliveryOrigin(const std::string& hq_origin, const std::string& factory_name);
// DeliveryVerifier: HQ's key under the delivery origin of `factory_name`.
Result<log::LogVerifier> DeliveryVerifier(const log::LogVerifier& hq, const std::string& factory_name);

// AddresseeOf: the factory log an HQ-log event concerns — factoryRegistered/
// Removed of it, batchAuthorized for it, checkpointCosigned and syncSession
// of it — or "" for any other event.
// (kEveryFactory for what every factory receives: HQ's cosigner key.)
inline constexpr std::string_view kEveryFactory = "*";
std::string AddresseeOf(log::schema::Event::Reader event);
// AddressedTo: HQ-log `event` is delivered to the factory whose log is
// `factory_origin` (AddresseeOf names it).
bool AddressedTo(log::schema::Event::Reader event, const std::string& factory_origin);

// Addressing says, for HQ-log events seen in HQ order, which are delivered
// to the factory whose log is `factory_origin`: those AddressedTo names, and
// every certificateRevoked (revocation, hold, release) of a CA that an
// earlier factoryRegistered lists for that factory — so the factory knows
// which of its certificates HQ revoked (a renewal must not name one).
// Thread-safety: one thread at a time.
class Addressing {
 public:
  explicit Addressing(std::string factory_origin, std::set<Bytes> ca_ids = {})
      : origin_(std::move(factory_origin)), ca_ids_(std::move(ca_ids)) {}
  // Next learns from `event` and says whether it is delivered.
  bool Next(log::schema::Event::Reader event);
  const std::set<Bytes>& ca_ids() const { return ca_ids_; }

 private:
  std::string origin_;
  std::set<Bytes> ca_ids_;  // the factory's CAs registered so far
};

// OpenDeliveryStore opens (creating on first use) HQ's store of delivery
// logs, `<hq_data_dir>/delivery`.
Result<std::unique_ptr<log::Store>> OpenDeliveryStore(const std::string& hq_data_dir);

// OpenDelivery opens (creating on first use) the delivery log of
// `factory_name` in `store`, signing with `hq_signer`'s key.
Result<std::unique_ptr<log::EventLog>> OpenDelivery(log::Store* store, const log::LogSigner& hq_signer,
                                                    const std::string& factory_name);

// Relay appends to `delivery` every event of `hq_log` addressed to
// `factory_origin` that it does not hold yet, in HQ order; returns how many.
// It resumes after the last event relayed (and after the HQ seq it last
// scanned, kept in the delivery store), so a crash never relays twice.
Result<uint64_t> Relay(log::EventLog& hq_log, log::EventLog& delivery, const std::string& factory_origin);

// DeliverTo relays into `factory_name`'s delivery log and copies it into
// `factory_copy` (the factory's store, on one machine: quickstart, `batch
// authorize --deliver`); returns the events delivered.
Result<uint64_t> DeliverTo(log::EventLog& hq_log, const log::LogSigner& hq_signer, log::Store* delivery_store,
                           const std::string& factory_name, const std::string& factory_origin,
                           log::EventLog& factory_copy);

// RelayedEvent: the HQ event a delivered event carries.
struct RelayedEvent {
  uint64_t hq_seq = 0;
  std::string signed_event;  // HQ's bytes
  log::ParsedEvent event;
};
// Unwrap returns the HQ event carried by `delivered` after checking HQ's
// signature (`hq`), its origin and its seq; InvalidArgument for any other
// event or a carried event that does not verify.
Result<RelayedEvent> Unwrap(log::schema::Event::Reader delivered, const log::LogVerifier& hq);

// DeliveredEventCheck: for a factory receiving its delivery log, refuses
// (with the reason) any event that is not a relayed HQ event verifying with
// `hq` — the receiver's check of the sync and of bundle imports.
std::function<std::optional<std::string>(uint64_t seq, std::string_view signed_event)> DeliveredEventCheck(
    const log::LogVerifier& hq);

// AuditDelivery checks `delivery` against `hq_log`: every event is a
// relayed HQ event, byte-identical to HQ's at its seq, in HQ order,
// addressed to `factory_origin`, and every HQ event addressed to it up to
// the last one relayed is there. Returns the first discrepancy as
// FailedPrecondition naming the delivery seq.
Status AuditDelivery(log::EventLog& hq_log, log::EventLog& delivery, const std::string& factory_origin);

}  // namespace mirrorca::engine

#endif  // MIRRORCA_ENGINE_DELIVERY_LOG_H_
