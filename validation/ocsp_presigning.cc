// OcspResponder's answers signed ahead of time (validation/presigned_store.h):
// signing one serial's two-CertID answer, storing changed ones, refreshing
// due ones, answering from the store, and the on-demand signing budget.
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>

#include "base/encoding.h"
#include "base/parallel_for.h"
#include "base/status_macros.h"
#include "crypto/sha256.h"
#include "validation/ocsp_internal.h"
#include "validation/ocsp_responder.h"

namespace mirrorca::validation {
namespace {

// RefreshAt: a pre-signed answer is signed again between half and three
// quarters of its validity, at a point fixed by its serial — so a million
// answers signed in one burst are refreshed spread over a quarter of the
// validity, not all at once.
int64_t RefreshAt(int64_t now, int64_t validity, ByteSpan ca_id, ByteSpan serial) {
  Bytes both(ca_id.begin(), ca_id.end());
  both.insert(both.end(), serial.begin(), serial.end());
  const crypto::Hash h = crypto::Sha256(both);
  const uint64_t spread = static_cast<uint64_t>(std::max<int64_t>(1, validity / 4));
  return now + validity / 2 + static_cast<int64_t>(GetBigEndian64(std::string_view(reinterpret_cast<const char*>(h.data()), 8)) % spread);
}

OcspOutcome OutcomeOf(int status) {
  return status == V_OCSP_CERTSTATUS_GOOD      ? OcspOutcome::kGood
         : status == V_OCSP_CERTSTATUS_REVOKED ? OcspOutcome::kRevoked
                                               : OcspOutcome::kUnknown;
}

}  // namespace

void OcspResponder::AttachPresigned(PresignedStore* store, bool writable) {
  presigned_store_ = store;
  presigned_writable_ = writable && store != nullptr && store->available();
}

bool OcspResponder::TakeSigningToken() {
  const double rate = options_.on_demand_signatures_per_second;
  if (rate <= 0) return true;
  const int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::lock_guard lock(budget_mu_);
  if (budget_at_us_ == 0) budget_tokens_ = rate;
  budget_tokens_ = std::min(rate, budget_tokens_ + rate * static_cast<double>(now_us - budget_at_us_) / 1e6);
  budget_at_us_ = now_us;
  if (budget_tokens_ < 1) return false;
  budget_tokens_ -= 1;
  return true;
}

const OcspResponder::Issuer* OcspResponder::FindIssuer(OCSP_CERTID* cid) const {
  ASN1_OCTET_STRING* name_hash = nullptr;
  ASN1_OCTET_STRING* key_hash = nullptr;
  ASN1_OBJECT* md = nullptr;
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, cid) != 1) return nullptr;
  const int nid = OBJ_obj2nid(md);
  const std::string_view nh = OctetView(name_hash), kh = OctetView(key_hash);
  for (const auto& is : issuers_) {
    if ((nid == NID_sha1 && nh == is->sha1_name && kh == is->sha1_key) ||
        (nid == NID_sha256 && nh == is->sha256_name && kh == is->sha256_key)) {
      return is.get();
    }
  }
  return nullptr;
}

OcspAnswer OcspResponder::TryLater() {
  try_later_++;
  OcspAnswer later;
  later.der = StatusResponse(OCSP_RESPONSE_STATUS_TRYLATER);
  later.outcome = OcspOutcome::kInternalError;
  return later;
}

Result<PresignedAnswer> OcspResponder::SignSerial(const Issuer& issuer, ByteSpan serial, int64_t now) {
  ASSIGN_OR_RETURN(std::optional<engine::CertRecord> rec, status_->Get(issuer.ca_id, serial));
  return SignSerial(issuer, serial, rec, now);
}

Result<PresignedAnswer> OcspResponder::SignSerial(const Issuer& issuer, ByteSpan serial,
                                                  const std::optional<engine::CertRecord>& rec, int64_t now) {
  const SerialStatus st = StatusOf(issuer.id, rec);
  PresignedAnswer out;
  out.status = static_cast<uint8_t>(st.status);
  out.this_update = now;
  out.next_update = now + options_.validity_seconds;
  out.refresh_at = RefreshAt(now, options_.validity_seconds, issuer.ca_id, serial);
  auto fail = [](const char* what) {
    ERR_clear_error();
    return Status::Internal(std::string("pre-signing an OCSP answer: ") + what);
  };
  ca::BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  ca::OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free> number(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  OcspBasicPtr bs(OCSP_BASICRESP_new());
  ca::Asn1TimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
  ca::Asn1TimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(out.next_update)));
  ca::Asn1TimePtr revoked_at;
  if (st.status == V_OCSP_CERTSTATUS_REVOKED) revoked_at.reset(ASN1_TIME_set(nullptr, static_cast<time_t>(st.revoked_at)));
  if (!number || !bs || !this_update || !next_update) return fail("allocation");
  // One signature, both CertIDs a client may send (RFC 5019 §2.2.1).
  for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
    OcspCertIdPtr cid(OCSP_cert_id_new(md, X509_get_subject_name(issuer.id.cert.get()),
                                       X509_get0_pubkey_bitstr(issuer.id.cert.get()), number.get()));
    if (!cid) return fail("CertID");
    if (OCSP_basic_add1_status(bs.get(), cid.get(), st.status, st.reason, revoked_at.get(), this_update.get(),
                               next_update.get()) == nullptr) {
      return fail("status");
    }
  }
  if (st.never_issued && !AddExtendedRevoke(bs.get())) return fail("extended revoke");
  std::shared_ptr<const Signer> key;
  {
    std::lock_guard lock(signer_mu_);
    key = issuer.signer;
  }
  if (OCSP_basic_sign(bs.get(), key->cert.get(), key->key.get(), EVP_sha256(), nullptr, OCSP_RESPID_KEY) != 1) {
    return fail("signature");
  }
  OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
  if (!resp) return fail("response");
  out.der = ToDer(resp.get());
  if (out.der.empty()) return fail("encoding");
  return out;
}

Result<size_t> OcspResponder::SignAhead(const std::vector<engine::CertChange>& changes, int64_t now,
                                        unsigned threads) {
  if (!presigned_writable_) return size_t{0};
  std::vector<PresignedStore::Entry> entries(changes.size());
  std::vector<Status> failures(changes.size());
  std::vector<char> served(changes.size(), 0);  // not vector<bool>: threads write neighbours
  {
    std::shared_lock issuers(issuers_mu_);
    ParallelFor(changes.size(), threads, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        const Issuer* issuer = nullptr;
        for (const auto& is : issuers_) {
          if (is->ca_id == changes[i].ca_id) issuer = is.get();
        }
        if (issuer == nullptr) continue;  // a CA this responder does not serve
        Result<PresignedAnswer> a = SignSerial(*issuer, changes[i].serial, now);
        if (!a.ok()) {
          failures[i] = a.status();
          continue;
        }
        entries[i].key = {changes[i].ca_id, changes[i].serial};
        entries[i].answer = std::move(*a);
        served[i] = 1;
      }
    });
  }
  std::vector<PresignedStore::Entry> signed_entries;
  for (size_t i = 0; i < changes.size(); ++i) {
    RETURN_IF_ERROR(failures[i]);
    if (served[i]) signed_entries.push_back(std::move(entries[i]));
  }
  const size_t n = signed_entries.size();
  if (n > 0) RETURN_IF_ERROR(presigned_store_->Put(std::move(signed_entries)));
  presigned_ += n;
  // In-memory answers of a changed status are wrong now (a refresh or a
  // new issuance leaves older answers true).
  if (std::any_of(changes.begin(), changes.end(), [](const engine::CertChange& c) { return c.urgent; })) Invalidate();
  return n;
}

Result<size_t> OcspResponder::SignPending(bool urgent, std::chrono::steady_clock::time_point deadline, int64_t now,
                                          unsigned threads) {
  size_t total = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSIGN_OR_RETURN(std::vector<engine::CertChange> changes, status_->PendingChanges(urgent, 2048));
    if (changes.empty()) break;
    ASSIGN_OR_RETURN(size_t n, SignAhead(changes, now, threads));
    RETURN_IF_ERROR(status_->DoneWith(changes));
    total += n;
  }
  return total;
}

Result<size_t> OcspResponder::RefreshDue(int64_t now, size_t max, unsigned threads) {
  if (!presigned_writable_) return size_t{0};
  ASSIGN_OR_RETURN(std::vector<PresignedKey> due, presigned_store_->Due(now, max));
  std::vector<engine::CertChange> changes;
  changes.reserve(due.size());
  for (PresignedKey& k : due) changes.push_back({false, std::move(k.ca_id), std::move(k.serial), {}});
  Result<size_t> n = SignAhead(changes, now, threads);
  if (!n.ok()) presigned_store_->RestartDue();  // those keys are still due: look again
  return n;
}

std::optional<OcspAnswer> OcspResponder::FromStore(OCSP_CERTID* cid, int64_t now, bool has_nonce, bool* token_taken) {
  if (presigned_store_ == nullptr) return std::nullopt;
  const Issuer* issuer = nullptr;
  {
    std::shared_lock issuers(issuers_mu_);
    issuer = FindIssuer(cid);
  }
  if (issuer == nullptr) return std::nullopt;
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, cid) != 1 || serial == nullptr) return std::nullopt;
  const std::optional<ByteSpan> serial_bytes = SerialMagnitude(serial);
  if (!serial_bytes) return std::nullopt;
  Result<std::optional<PresignedAnswer>> stored = presigned_store_->Lookup(issuer->ca_id, *serial_bytes);
  std::optional<PresignedAnswer> answer;
  if (stored.ok() && stored->has_value() && now >= (*stored)->this_update && now < (*stored)->next_update - 60) {
    answer = std::move(**stored);
  }
  // A nonce is echoed while the signing budget allows (the caller signs).
  if (has_nonce && TakeSigningToken()) {
    *token_taken = true;
    return std::nullopt;
  }
  if (!answer) {
    // Issued but not (or no longer) pre-signed: sign it now, both CertIDs,
    // and keep it — within the budget, so random serials cannot make it sign.
    Result<std::optional<engine::CertRecord>> rec = status_->Get(issuer->ca_id, *serial_bytes);
    if (!rec.ok() || !rec->has_value() || !(*rec)->issued) return std::nullopt;  // the caller decides
    if (!TakeSigningToken()) return TryLater();
    Result<PresignedAnswer> made = SignSerial(*issuer, *serial_bytes, *rec, now);
    if (!made.ok()) return std::nullopt;
    signed_++;
    if (presigned_writable_) {
      std::vector<PresignedStore::Entry> e(1);
      e[0].key = {issuer->ca_id, Bytes(serial_bytes->begin(), serial_bytes->end())};
      e[0].answer = *made;
      (void)presigned_store_->Put(std::move(e));
    }
    answer = std::move(*made);
  } else {
    store_hits_++;
  }
  OcspAnswer out;
  out.der = std::move(answer->der);
  out.successful = true;
  out.this_update = answer->this_update;
  out.next_update = answer->next_update;
  out.outcome = OutcomeOf(answer->status);
  crypto::Hash h = crypto::Sha256(AsBytes(out.der));
  out.etag = HexEncode(ByteSpan(h.data(), 16));
  return out;
}

}  // namespace mirrorca::validation
