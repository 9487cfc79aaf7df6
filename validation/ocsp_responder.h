// OcspResponder: RFC 6960 OCSP answers from HQ's certificate-status
// projection (engine/cert_status.h), signed by a delegated responder
// certificate of each issuing CA (id-kp-OCSPSigning, ocsp-nocheck).
//
//   - several CertIDs per request; SHA-1 and SHA-256 CertIDs;
//   - good / revoked (reason, time) / certificateHold from the logs;
//   - a serial of a served CA that no log ever issued is "revoked"
//     (§2.2 extended revoked definition: 1970-01-01, certificateHold, and the
//     id-pkix-ocsp-extended-revoke extension) — a certificate forged with a
//     stolen key has no issuance event and is exposed;
//   - "unknown" for an issuer not served here; "unknown" instead of the
//     extended "revoked" for an issuer configured so (`unseen_unknown`: a
//     device issued after its factory's last sync is not refused);
//   - one responder per issuing CA, delegated by it: a request whose
//     CertIDs name two or more served issuers cannot be answered by any one
//     of them and gets "unauthorized" (RFC 6960 §2.3, RFC 5019 §2.2.3) —
//     clients ask once per issuer;
//   - malformedRequest for anything that does not parse; bounded sizes;
//   - a request's nonce is copied into a response signed on demand;
//     requests without a nonce are answered from pre-signed responses kept
//     until they are `refresh_seconds` old or the projection changes. They
//     are looked up by the request's bytes before any parsing (a client
//     asks with the same bytes every time), so a hit costs a hash lookup.
//
// Thread-safety: Respond and Invalidate may be called concurrently.
#ifndef MIRRORCA_VALIDATION_OCSP_RESPONDER_H_
#define MIRRORCA_VALIDATION_OCSP_RESPONDER_H_

#include <atomic>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <openssl/ocsp.h>

#include "base/bytes.h"
#include "base/prometheus_text.h"
#include "base/result.h"
#include "ca/openssl_types.h"
#include "engine/cert_status.h"
#include "validation/answer_cache.h"
#include "validation/ocsp_answer.h"
#include "validation/presigned_store.h"

namespace mirrorca::validation {

struct OcspIssuer {
  std::string name;          // short name, e.g. the factory's
  ca::X509Ptr cert;          // the issuing CA certificate
  ca::X509Ptr responder;     // its delegated responder certificate
  ca::EvpPkeyPtr responder_key;
  // A serial of this CA that no log issued (as far as HQ knows) is answered
  // "unknown" rather than "revoked" (docs/validation.md: the trade-off).
  bool unseen_unknown = false;
};

struct OcspOptions {
  int64_t validity_seconds = 4 * 3600;  // nextUpdate - thisUpdate
  int64_t refresh_seconds = 3600;       // a pre-signed response is re-signed when older
  // HTTP caches (Cache-Control max-age) keep an answer at most this long,
  // so a revocation reaches clients behind a cache within it.
  int64_t http_max_age_seconds = 60;
  size_t max_request_bytes = 64 * 1024;
  size_t max_cert_ids = 64;
  // The pre-signed answers kept in memory, keyed by request bytes: at most
  // this many bytes (keys, answers and bookkeeping), whatever the traffic.
  // Only ordinary requests are kept (one CertID, no nonce, at most
  // kMaxCachedRequestBytes): a padded or unusual request is answered but
  // never stored. The oldest half is dropped when the newer half is full
  // (two generations: a hot answer survives by being asked for).
  size_t max_cache_bytes = 256u << 20;
  // The block cache of the store of pre-signed answers, for whoever opens
  // that store (va::VaNode, OcspReplica; HQ: HqOptions): at about 700 bytes
  // a certificate, what holds every answer in memory.
  size_t store_cache_bytes = 256u << 20;
  std::function<int64_t()> now;         // seconds; default: the system clock
  // Signatures made while answering (a nonce echoed, a serial with no
  // pre-signed answer, a request of several CertIDs): at most this many a
  // second, in bursts of as many; beyond, a nonce request gets the
  // pre-signed answer without its nonce (RFC 8954 §2.1 allows it) and the
  // rest `tryLater`. Anonymous traffic cannot make it sign more. 0: no limit.
  double on_demand_signatures_per_second = 1000;
};

class OcspResponder {
 public:
  // `status` must outlive the responder.
  static Result<std::unique_ptr<OcspResponder>> Create(std::vector<OcspIssuer> issuers,
                                                       engine::CertStatus* status,
                                                       OcspOptions options = {});
  ~OcspResponder();

  OcspAnswer Respond(ByteSpan request_der);
  // ReplaceResponder installs a renewed responder certificate and key for
  // the CA named `name` (pre-signed answers are dropped).
  Status ReplaceResponder(const std::string& name, ca::X509Ptr responder, ca::EvpPkeyPtr key);
  // AddIssuer starts answering for one more CA (a factory HQ onboarded
  // while serving); AlreadyExists for a name or CA already served.
  Status AddIssuer(OcspIssuer issuer);
  // Invalidate drops every pre-signed response (after a revocation).
  void Invalidate() { generation_++; }

  // Answers signed ahead of time (validation/presigned_store.h): once
  // attached (`store` outlives the responder), a one-CertID request is
  // answered from it without a signature. `writable`: the responder may
  // store what it signs (a primary; a replica only reads).
  void AttachPresigned(PresignedStore* store, bool writable);
  // SignAhead signs and stores the answer of each changed certificate
  // (engine::CertStatus's change journal) as its record is now; returns how
  // many it signed (a CA it does not serve is skipped). Uses `threads` cores.
  Result<size_t> SignAhead(const std::vector<engine::CertChange>& changes, int64_t now, unsigned threads = 1);
  // SignPending drains the status projection's change journal of one kind
  // (urgent: revocations, holds, releases; else new issuances) — SignAhead
  // on each batch of 2,048, then DoneWith — until it is empty or `deadline`
  // has passed. The caller serializes it with the projection's CatchUp.
  Result<size_t> SignPending(bool urgent, std::chrono::steady_clock::time_point deadline, int64_t now,
                             unsigned threads = 1);
  // RefreshDue re-signs up to `max` stored answers whose refresh time has
  // come (spread over the second quarter of their validity: no thundering
  // refresh); returns how many.
  Result<size_t> RefreshDue(int64_t now, size_t max, unsigned threads = 1);
  uint64_t presigned_count() const { return presigned_.load(); }
  uint64_t store_hits() const { return store_hits_.load(); }

  const OcspOptions& options() const { return options_; }
  uint64_t signed_count() const { return signed_.load(); }
  uint64_t cache_hits() const { return hits_.load(); }
  size_t cache_bytes() const;    // what the cache holds now (both generations)
  size_t cache_entries() const;
  // WriteMetrics adds answers by outcome, their latency, signatures made
  // and the cache's hits, entries and bytes.
  void WriteMetrics(PrometheusText& m) const;

  static constexpr size_t kMaxCachedRequestBytes = 512;  // a one-CertID SHA-512 request is ~150

 private:
  struct Issuer;
  struct Signer {
    ca::X509Ptr cert;
    ca::EvpPkeyPtr key;
  };
  OcspResponder() = default;
  OcspAnswer Build(OCSP_REQUEST* request, int64_t now);
  int64_t Now() const;

  mutable std::shared_mutex issuers_mu_;
  std::vector<std::unique_ptr<Issuer>> issuers_;  // guarded by issuers_mu_ (appended only)
  engine::CertStatus* status_ = nullptr;
  OcspOptions options_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> signed_{0};
  std::atomic<uint64_t> hits_{0};
  std::array<std::atomic<uint64_t>, kOcspOutcomes> by_outcome_ = {};
  std::atomic<uint64_t> presigned_{0};     // answers signed ahead of time
  std::atomic<uint64_t> store_hits_{0};    // answered from the pre-signed store
  std::atomic<uint64_t> try_later_{0};     // refused for want of a signing budget
  PresignedStore* presigned_store_ = nullptr;
  bool presigned_writable_ = false;
  // The on-demand signing budget: a token bucket (guarded by budget_mu_).
  std::mutex budget_mu_;
  double budget_tokens_ = 0;
  int64_t budget_at_us_ = 0;
  bool TakeSigningToken();
  // FindIssuer: the served CA whose name and key hashes the CertID names.
  const Issuer* FindIssuer(OCSP_CERTID* cid) const;  // caller holds issuers_mu_ (shared)
  // SignSerial builds and signs the two-CertID answer of one serial, as
  // its record `rec` says (SignSerial without it reads the record).
  Result<PresignedAnswer> SignSerial(const Issuer& issuer, ByteSpan serial, int64_t now);
  Result<PresignedAnswer> SignSerial(const Issuer& issuer, ByteSpan serial,
                                     const std::optional<engine::CertRecord>& rec, int64_t now);
  // TryLater: the unsigned answer when the on-demand budget is spent (counted).
  OcspAnswer TryLater();
  // FromStore answers a one-CertID request from the pre-signed store, or nullopt.
  // `token_taken`: it took a signing token for the caller to echo a nonce.
  std::optional<OcspAnswer> FromStore(OCSP_CERTID* cid, int64_t now, bool has_nonce, bool* token_taken);
  LatencyHistogram latency_;
  OcspAnswer Answer(ByteSpan request_der, int64_t now);
  std::mutex signer_mu_;  // guards each Issuer's signer pointer (swapped on renewal)
  // Answers by request bytes (validation/answer_cache.h), within max_cache_bytes.
  std::unique_ptr<AnswerCache> cache_;
};

// MalformedResponse is the DER OCSPResponse with status malformedRequest.
std::string MalformedResponse();

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_OCSP_RESPONDER_H_
