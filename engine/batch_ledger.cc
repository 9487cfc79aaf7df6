#include "engine/batch_ledger.h"

#include "base/status_macros.h"
#include <algorithm>
#include "ca/certificate.h"
#include "ca/serial.h"
#include "crypto/spki.h"

namespace mirrorca::engine {
namespace {

std::string Key(const Bytes& b) { return std::string(b.begin(), b.end()); }
Bytes ToBytes(capnp::Data::Reader d) { return Bytes(d.begin(), d.end()); }

Refusal Refuse(RejectionReason r, std::string detail) { return Refusal{r, std::move(detail)}; }

// KeyHashOf: the device key an issuance certified — its publicKeyHash, or
// for an event written before that field, from the certificate itself.
std::string KeyHashOf(log::schema::CertificateIssued::Reader c) {
  if (c.getPublicKeyHash().size() == 32) return Key(ToBytes(c.getPublicKeyHash()));
  auto der = c.getCertificate();
  if (der.size() == 0) return "";
  Result<ca::X509Ptr> cert = ca::ParseCertificate(std::string_view(reinterpret_cast<const char*>(der.begin()), der.size()));
  if (!cert.ok()) return "";
  Result<Bytes> spki = crypto::SpkiSha256(cert->get());
  return spki.ok() ? Key(*spki) : "";
}

}  // namespace

BatchTerms BatchTerms::FromEvent(log::schema::BatchAuthorized::Reader e, uint64_t hq_seq) {
  BatchTerms t;
  t.batch_id = e.getBatchId();
  t.profile = e.getProfile();
  t.product = e.getProduct();
  t.vendor_id = e.getVendorId();
  t.product_id = e.getProductId();
  t.quota = e.getQuota();
  t.not_before = e.getNotBefore();
  t.not_after = e.getNotAfter();
  t.factory_log_id = e.getFactoryLogId();
  for (auto ra : e.getAllowedRas()) t.allowed_ras.emplace_back(ra);
  for (auto d : e.getAllowReissue()) t.allow_reissue.emplace(d);
  t.ca_id = ToBytes(e.getCaId());
  t.hq_seq = hq_seq;
  return t;
}

void BatchLedger::ApplyHqEvent(log::schema::Event::Reader e) {
  if (e.getKind().isCertificateRevoked()) {
    auto r = e.getKind().getCertificateRevoked();
    const std::string serial = Key(ToBytes(r.getSerial()));
    std::lock_guard lock(mu_);
    if (r.getRelease()) {
      revoked_.erase(serial);
    } else {
      revoked_.insert(serial);
    }
    return;
  }
  if (!e.getKind().isBatchAuthorized()) return;
  auto b = e.getKind().getBatchAuthorized();
  if (b.getFactoryLogId() != factory_log_id_) return;
  std::lock_guard lock(mu_);
  BatchCounts& c = batches_[b.getBatchId()];
  // A later authorization of the same batch id replaces the terms (HQ raising
  // a quota, adding re-issue permissions); counts carry over.
  c.terms = std::make_shared<const BatchTerms>(BatchTerms::FromEvent(b, e.getSeq()));
}

void BatchLedger::ApplyFactoryEvent(log::schema::Event::Reader e) {
  auto kind = e.getKind();
  std::lock_guard lock(mu_);
  switch (kind.which()) {
    case log::schema::Event::Kind::CERTIFICATE_ISSUED: {
      auto c = kind.getCertificateIssued();
      const Bytes serial = ToBytes(c.getSerial());
      batches_[c.getBatchId()].issued++;
      devices_[c.getDeviceSerial()] = serial;
      serials_.insert(Key(serial));
      if (std::string key = KeyHashOf(c); !key.empty()) keys_.emplace(std::move(key), c.getDeviceSerial());
      if (c.getReissueOf().size() > 0) reissued_.emplace(c.getBatchId(), c.getDeviceSerial());
      ++issued_total_;
      break;
    }
    case log::schema::Event::Kind::ISSUANCE_REJECTED:
      batches_[kind.getIssuanceRejected().getBatchId()].rejected++;
      break;
    case log::schema::Event::Kind::BATCH_CLOSED:
      batches_[kind.getBatchClosed().getBatchId()].closed = true;
      break;
    default:
      break;
  }
}

std::variant<Reservation, Refusal> BatchLedger::Reserve(const std::string& batch_id,
                                                        const std::string& device_serial,
                                                        const std::string& ra_id, int64_t now,
                                                        const std::string& key_hash, bool allow_shared_key,
                                                        const Bytes* renews) {
  std::lock_guard lock(mu_);
  auto it = batches_.find(batch_id);
  if (it == batches_.end() || !it->second.terms) {
    return Refuse(RejectionReason::UNKNOWN_BATCH,
                  "batch '" + batch_id + "' is not authorized by HQ for this factory");
  }
  BatchCounts& b = it->second;
  const BatchTerms& t = *b.terms;
  if (b.closed) return Refuse(RejectionReason::BATCH_CLOSED, "batch '" + batch_id + "' is closed");
  // A renewal by the device itself (no RA: ra_id empty) is not an RA's
  // enrollment; HQ's re-issue authorization for the device gates it below.
  const bool by_device = renews != nullptr && ra_id.empty();
  if (!t.allowed_ras.empty() && !by_device &&
      std::find(t.allowed_ras.begin(), t.allowed_ras.end(), ra_id) == t.allowed_ras.end()) {
    return Refuse(RejectionReason::RA_NOT_AUTHORIZED,
                  "RA '" + ra_id + "' is not authorized for batch '" + batch_id + "'");
  }
  if (now < t.not_before) {
    return Refuse(RejectionReason::BATCH_NOT_YET_VALID,
                  "batch '" + batch_id + "' is not valid yet");
  }
  if (now >= t.not_after) {
    return Refuse(RejectionReason::BATCH_EXPIRED, "batch '" + batch_id + "' has expired");
  }
  if (b.issued + b.reserved >= t.quota) {
    return Refuse(RejectionReason::QUOTA_EXHAUSTED,
                  "batch '" + batch_id + "' has used its quota of " + std::to_string(t.quota));
  }
  if (devices_in_flight_.contains(device_serial)) {
    return Refuse(RejectionReason::DUPLICATE_DEVICE,
                  "device '" + device_serial + "' has a request in flight");
  }
  if (!key_hash.empty() && !allow_shared_key) {
    const std::string* owner = keys_.Find(key_hash);
    if (owner != nullptr && *owner != device_serial) {
      return Refuse(RejectionReason::DUPLICATE_KEY,
                    "this public key is already certified for device '" + *owner +
                        "' (a broken key generator ships clones; a profile may set allow_shared_keys)");
    }
    auto flying = keys_in_flight_.find(key_hash);
    if (flying != keys_in_flight_.end() && flying->second != device_serial) {
      return Refuse(RejectionReason::DUPLICATE_KEY,
                    "this public key is in a request in flight for device '" + flying->second + "'");
    }
  }
  Reservation r;
  r.batch_id = batch_id;
  r.device_serial = device_serial;
  const Bytes* latest = devices_.Find(device_serial);
  if (renews != nullptr && (latest == nullptr || *latest != *renews)) {
    return Refuse(RejectionReason::SUBJECT_NOT_ALLOWED,
                  "the certificate to renew is not device '" + device_serial + "''s latest from this factory");
  }
  if (renews != nullptr && revoked_.contains(Key(*renews))) {
    return Refuse(RejectionReason::CERTIFICATE_REVOKED,
                  "the certificate to renew (device '" + device_serial + "') is revoked or on hold at HQ");
  }
  if (latest != nullptr) {
    if (!t.allow_reissue.contains(device_serial) ||
        reissued_.contains({batch_id, device_serial})) {
      return Refuse(RejectionReason::DUPLICATE_DEVICE,
                    "device '" + device_serial +
                        "' already has a certificate from this CA; a second one needs HQ's "
                        "re-issue authorization");
    }
    r.reissue_of = *latest;
  }
  Result<Bytes> serial = FreshSerialLocked();
  if (!serial.ok()) return Refuse(RejectionReason::INTERNAL_ERROR, serial.status().message());
  r.serial = std::move(*serial);
  serials_.insert(Key(r.serial));
  devices_in_flight_.insert(device_serial);
  if (!key_hash.empty()) {
    r.key_hash = key_hash;
    keys_in_flight_.emplace(key_hash, device_serial);
  }
  b.reserved++;
  return r;
}

Result<Bytes> BatchLedger::FreshSerialLocked() {
  for (int attempt = 0; attempt < 8; ++attempt) {
    ASSIGN_OR_RETURN(Bytes s, ca::RandomSerial());
    if (!serials_.contains(Key(s))) return s;
  }
  return Status::Internal("could not draw a unique serial (CSPRNG failure?)");
}

bool BatchLedger::Commit(const Reservation& r) {
  std::lock_guard lock(mu_);
  BatchCounts& b = batches_[r.batch_id];
  b.reserved--;
  b.issued++;
  ++issued_total_;
  devices_in_flight_.erase(r.device_serial);
  devices_[r.device_serial] = r.serial;
  if (!r.key_hash.empty()) {
    keys_in_flight_.erase(r.key_hash);
    keys_.emplace(r.key_hash, r.device_serial);
  }
  if (r.reissue_of) reissued_.emplace(r.batch_id, r.device_serial);
  return b.terms && b.issued == b.terms->quota;
}

void BatchLedger::Release(const Reservation& r) {
  std::lock_guard lock(mu_);
  BatchCounts& b = batches_[r.batch_id];
  b.reserved--;
  devices_in_flight_.erase(r.device_serial);
  if (!r.key_hash.empty()) keys_in_flight_.erase(r.key_hash);
  // The serial stays burnt: it may have been signed into a certificate.
}

void BatchLedger::CountRejection(const std::string& batch_id) {
  std::lock_guard lock(mu_);
  batches_[batch_id].rejected++;  // as replay counts it
}

void BatchLedger::MarkClosed(const std::string& batch_id) {
  std::lock_guard lock(mu_);
  batches_[batch_id].closed = true;
}

std::optional<BatchCounts> BatchLedger::Batch(const std::string& batch_id) const {
  std::lock_guard lock(mu_);
  auto it = batches_.find(batch_id);
  if (it == batches_.end() || !it->second.terms) return std::nullopt;
  return it->second;
}

std::vector<BatchCounts> BatchLedger::Batches() const {
  std::lock_guard lock(mu_);
  std::vector<BatchCounts> out;
  for (const auto& [id, c] : batches_) {
    if (c.terms) out.push_back(c);
  }
  return out;
}

uint64_t BatchLedger::IssuedTotal() const {
  std::lock_guard lock(mu_);
  return issued_total_;
}

}  // namespace mirrorca::engine
