// CmpServer: the Lightweight CMP Profile (RFC 9483) over HTTP (RFC 6712)
// for the factory CA, on OpenSSL's CMP server (OSSL_CMP_SRV_CTX): OpenSSL
// decodes and checks each message (protection, proof of possession,
// transaction and nonces) and builds every answer; this class maps the
// requests onto FactoryCa — the same vetting, batch quotas and signed
// events as the REST API — and keeps the transactions that wait for a
// certConf.
//
//   ir, cr, kur  → a CRMF template: the key it names (its possession proven
//                  by the POPO, or vouched for by the RA: raVerified), the
//                  device serial from the subject's serialNumber
//   p10cr        → the PKCS#10 request, as the REST API takes it
//   kur          → also: the device's current certificate (the message's
//                  protection certificate) must have been issued by this
//                  factory's CA for the same device serial
//   certConf     → pkiConf (implicit confirmation granted when asked)
//   genm         → id-it-caCerts: the issuing CA's chain
//   rr           → rejected (notAuthorized): revocation belongs to HQ
//
// Protection: a signature whose certificate chains to the RA trust anchors
// (the production computer's certificate) or to the factory's issuing CA
// (kur, by the device), or a MAC with the batch's shared secret.
// Unprotected requests are refused. Every refusal of a certificate request
// is FactoryCa's issuanceRejected event, and the answer's PKIFailureInfo
// says what a client can act on (docs/enrollment_protocols.md).
//
// Thread-safety: Handle is safe for concurrent use; one transaction's
// messages are processed one at a time.
#ifndef MIRRORCA_ENROLLMENT_CMP_SERVER_H_
#define MIRRORCA_ENROLLMENT_CMP_SERVER_H_

#include <openssl/cmp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ca/openssl_types.h"
#include "engine/factory_ca.h"

namespace mirrorca::enrollment {

struct CmpServerOptions {
  ca::X509Ptr protection_cert;  // signs the answers to signature-protected requests
  ca::EvpPkeyPtr protection_key;
  std::vector<ca::X509Ptr> protection_chain;  // sent with it (extraCerts), may be empty
  std::vector<ca::X509Ptr> ra_trust;          // anchors of RA protection certificates
  // The batch's shared secret for MAC protection, or nullopt (none: MAC
  // protected requests are refused for it). Never logged.
  std::function<std::optional<std::string>(const std::string& batch)> batch_secret;
  size_t max_transactions = 1024;  // waiting for certConf, at most
  std::chrono::seconds transaction_timeout{120};
  size_t max_message_bytes = 64 << 10;
};

struct CmpReply {
  int http_status = 200;
  std::string content_type = "application/pkixcmp";
  std::string body;
};

class CmpServer {
 public:
  CmpServer(engine::FactoryCa* ca, CmpServerOptions options);
  ~CmpServer();
  CmpServer(const CmpServer&) = delete;
  CmpServer& operator=(const CmpServer&) = delete;

  // Handle answers one CMP message (DER) sent to the batch's path by `ra_id`
  // (the mTLS client, "" if none).
  CmpReply Handle(const std::string& batch, std::string_view der, const std::string& ra_id);

  size_t open_transactions() const;

  struct Transaction;  // internal: one CMP transaction's OpenSSL context and state

 private:
  friend struct CmpCallbacks;
  std::unique_ptr<Transaction> Begin(const std::string& batch, const std::string& ra_id, OSSL_CMP_MSG* request);
  void ExpireLocked(std::chrono::steady_clock::time_point now);

  engine::FactoryCa* const ca_;
  const CmpServerOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Transaction>> waiting_;  // by transactionID; guarded by mu_
};

}  // namespace mirrorca::enrollment

#endif  // MIRRORCA_ENROLLMENT_CMP_SERVER_H_
