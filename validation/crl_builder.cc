#include "validation/crl_builder.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "base/parallel_for.h"
#include "base/status_macros.h"

namespace mirrorca::validation {
namespace {

using CrlPtr = ca::OpenSslPtr<X509_CRL, X509_CRL_free>;
using EnumPtr = ca::OpenSslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;
using IdpPtr = ca::OpenSslPtr<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free>;
using GenTimePtr = ca::OpenSslPtr<ASN1_GENERALIZEDTIME, ASN1_GENERALIZEDTIME_free>;
using BitStringPtr = ca::OpenSslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;

constexpr int kMaxReason = 10;  // aACompromise

Result<ca::Asn1IntegerPtr> Integer(uint64_t v) {
  ca::Asn1IntegerPtr i(ASN1_INTEGER_new());
  if (!i || ASN1_INTEGER_set_uint64(i.get(), v) != 1) return ca::OpenSslError("integer");
  return i;
}

// AppendDer appends the DER of `obj` written by OpenSSL's `i2d`.
template <typename T, typename I2d>
bool AppendDer(std::string& out, I2d i2d, T* obj) {
  const int len = i2d(obj, nullptr);
  if (len <= 0) return false;
  const size_t at = out.size();
  out.resize(at + static_cast<size_t>(len));
  auto* p = reinterpret_cast<unsigned char*>(out.data() + at);
  return i2d(obj, &p) == len;
}

// SequenceHeader appends the identifier and length octets of a SEQUENCE
// of `content_len` bytes (ASN1_put_object).
void SequenceHeader(std::string& out, size_t content_len) {
  const int len = static_cast<int>(content_len);
  const int header = ASN1_object_size(1, len, V_ASN1_SEQUENCE) - len;
  const size_t at = out.size();
  out.resize(at + static_cast<size_t>(header));
  auto* p = reinterpret_cast<unsigned char*>(out.data() + at);
  ASN1_put_object(&p, 1, len, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
}

Status AddDistributionPoint(X509_CRL* crl, const std::string& uri) {
  IdpPtr idp(ISSUING_DIST_POINT_new());
  DIST_POINT_NAME* name = DIST_POINT_NAME_new();
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (!idp || !name || !names || !gn || !ia5 ||
      ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size())) != 1) {
    DIST_POINT_NAME_free(name);
    GENERAL_NAMES_free(names);
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(ia5);
    return ca::OpenSslError("issuing distribution point");
  }
  GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
  sk_GENERAL_NAME_push(names, gn);
  name->type = 0;  // fullName
  name->name.fullname = names;
  idp->distpoint = name;
  if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp.get(), 1, 0) != 1) {
    return ca::OpenSslError("issuing distribution point");
  }
  return Status::Ok();
}

const EVP_MD* DigestFor(EVP_PKEY* key) {
  return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

// EntryEncoder writes CRL entries (RFC 5280 §5.1: SEQUENCE { userCertificate,
// revocationDate, crlEntryExtensions OPTIONAL }) with OpenSSL's encoders;
// one per thread.
class EntryEncoder {
 public:
  // `reason_ext` holds the DER of the reasonCode extension for each code.
  explicit EntryEncoder(const std::array<std::string, kMaxReason + 1>& reason_ext)
      : reason_ext_(reason_ext), serial_(ASN1_INTEGER_new()), time_(ASN1_TIME_new()),
        invalidity_(ASN1_GENERALIZEDTIME_new()) {}

  bool ok() const { return serial_ && time_ && invalidity_; }

  bool Append(std::string& out, const CrlEntry& e) {
    body_.clear();
    if (ASN1_STRING_set(serial_.get(), e.serial.data(), e.serial_len) != 1 ||
        !AppendDer(body_, i2d_ASN1_INTEGER, serial_.get()) ||
        ASN1_TIME_set(time_.get(), static_cast<time_t>(e.revocation_time)) == nullptr ||
        !AppendDer(body_, i2d_ASN1_TIME, time_.get())) {
      return false;
    }
    if (e.reason != 0 || e.invalidity_date != 0) {
      exts_.clear();
      if (e.reason != 0) exts_ += reason_ext_[e.reason];
      if (e.invalidity_date != 0) {
        if (ASN1_GENERALIZEDTIME_set(invalidity_.get(), static_cast<time_t>(e.invalidity_date)) ==
            nullptr) {
          return false;
        }
        ca::X509ExtensionPtr ext(X509V3_EXT_i2d(NID_invalidity_date, 0, invalidity_.get()));
        if (!ext || !AppendDer(exts_, i2d_X509_EXTENSION, ext.get())) return false;
      }
      SequenceHeader(body_, exts_.size());
      body_ += exts_;
    }
    SequenceHeader(out, body_.size());
    out += body_;
    return true;
  }

 private:
  const std::array<std::string, kMaxReason + 1>& reason_ext_;
  ca::Asn1IntegerPtr serial_;
  ca::Asn1TimePtr time_;
  GenTimePtr invalidity_;
  std::string body_, exts_;
};

// SerialLess orders entries as X509_CRL_sort does (ASN1_STRING_cmp: by
// length, then by bytes).
bool SerialLess(const CrlEntry& a, const CrlEntry& b) {
  if (a.serial_len != b.serial_len) return a.serial_len < b.serial_len;
  return std::memcmp(a.serial.data(), b.serial.data(), a.serial_len) < 0;
}

}  // namespace

bool CrlEntry::SetSerial(ByteSpan magnitude) {
  while (!magnitude.empty() && magnitude.front() == 0) magnitude = magnitude.subspan(1);
  if (magnitude.empty() || magnitude.size() > serial.size()) return false;
  std::copy(magnitude.begin(), magnitude.end(), serial.begin());
  serial_len = static_cast<uint8_t>(magnitude.size());
  return true;
}

Result<CrlPtr> BuildCrlShell(X509* issuer, EVP_PKEY* key, const CrlSpec& spec) {
  CrlPtr crl(X509_CRL_new());
  ca::Asn1TimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.this_update)));
  ca::Asn1TimePtr next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.next_update)));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return ca::OpenSslError("CRL header");
  }
  ASSIGN_OR_RETURN(ca::Asn1IntegerPtr number, Integer(spec.number));
  if (X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return ca::OpenSslError("CRL number");
  }
  if (spec.delta_base) {
    ASSIGN_OR_RETURN(ca::Asn1IntegerPtr base, Integer(*spec.delta_base));
    if (X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base.get(), 1, 0) != 1) {
      return ca::OpenSslError("delta CRL indicator");
    }
  }
  // Authority key identifier: the issuer's subject key identifier.
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(issuer);
  if (skid != nullptr) {
    AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
    if (akid == nullptr) return ca::OpenSslError("AKID");
    akid->keyid = ASN1_OCTET_STRING_dup(skid);
    int ok = akid->keyid != nullptr &&
             X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, akid, 0, 0) == 1;
    AUTHORITY_KEYID_free(akid);
    if (!ok) return ca::OpenSslError("AKID");
  }
  if (!spec.distribution_point.empty()) {
    RETURN_IF_ERROR(AddDistributionPoint(crl.get(), spec.distribution_point));
  }
  if (!spec.freshest_crl.empty()) {
    // Where the deltas are (RFC 5280 §5.2.6); relying parties look for
    // deltas only when the base CRL or the certificate names them.
    ca::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_freshest_crl,
                                                 ("URI:" + spec.freshest_crl).c_str()));
    if (!ext || X509_CRL_add_ext(crl.get(), ext.get(), -1) != 1) {
      return ca::OpenSslError("freshest CRL");
    }
  }
  if (X509_CRL_sign(crl.get(), key, DigestFor(key)) <= 0) return ca::OpenSslError("sign CRL");
  return crl;
}

Result<std::string> BuildCrl(X509* issuer, EVP_PKEY* key, const CrlSpec& spec,
                             std::span<const CrlEntry> entries, unsigned threads) {
  for (const CrlEntry& e : entries) {
    if (e.serial_len == 0 || e.serial_len > e.serial.size() || e.serial[0] == 0) {
      return Status::InvalidArgument("CRL entry without a serial (or with leading zero octets)");
    }
    if (e.reason > kMaxReason || e.reason == 7) {
      return Status::InvalidArgument("CRL entry with reason code " + std::to_string(e.reason));
    }
  }
  // The header and extensions: OpenSSL's own encoding of the empty CRL,
  // signed so that it carries the signature algorithm.
  ASSIGN_OR_RETURN(CrlPtr shell, BuildCrlShell(issuer, key, spec));
  std::string shell_tbs;
  if (!AppendDer(shell_tbs, i2d_re_X509_CRL_tbs, shell.get())) return ca::OpenSslError("CRL TBS");
  // Split it where revokedCertificates goes: before [0] crlExtensions.
  const auto* p = reinterpret_cast<const unsigned char*>(shell_tbs.data());
  long len = 0;
  int tag = 0, xclass = 0;
  if (ASN1_get_object(&p, &len, &tag, &xclass, static_cast<long>(shell_tbs.size())) & 0x80) {
    return Status::Internal("cannot parse the CRL shell");
  }
  const unsigned char* content = p;
  const unsigned char* end = p + len;
  const unsigned char* extensions = end;
  while (p < end) {
    const unsigned char* element = p;
    if (ASN1_get_object(&p, &len, &tag, &xclass, end - p) & 0x80) {
      return Status::Internal("cannot parse the CRL shell");
    }
    if (xclass == V_ASN1_CONTEXT_SPECIFIC && tag == 0) extensions = element;
    p += len;
  }

  // The entries, sorted by serial, encoded in pieces on every core.
  std::vector<uint32_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return SerialLess(entries[a], entries[b]); });
  std::array<std::string, kMaxReason + 1> reason_ext;
  for (int r = 1; r <= kMaxReason; ++r) {
    EnumPtr code(ASN1_ENUMERATED_new());
    if (!code || ASN1_ENUMERATED_set(code.get(), r) != 1) return ca::OpenSslError("reason code");
    ca::X509ExtensionPtr ext(X509V3_EXT_i2d(NID_crl_reason, 0, code.get()));
    if (!ext || !AppendDer(reason_ext[r], i2d_X509_EXTENSION, ext.get())) {
      return ca::OpenSslError("reason code");
    }
  }
  constexpr size_t kPiece = 16384;
  const size_t pieces = (entries.size() + kPiece - 1) / kPiece;
  std::vector<std::string> encoded(pieces);
  std::vector<uint8_t> failed(pieces, 0);
  ParallelFor(pieces, threads == 0 ? HardwareThreads() : threads, [&](size_t begin, size_t end) {
    EntryEncoder encoder(reason_ext);
    for (size_t piece = begin; piece < end; ++piece) {
      const size_t first = piece * kPiece;
      const size_t last = std::min(entries.size(), first + kPiece);
      std::string& out = encoded[piece];
      out.reserve((last - first) * 48);
      bool ok = encoder.ok();
      for (size_t i = first; ok && i < last; ++i) ok = encoder.Append(out, entries[order[i]]);
      failed[piece] = ok ? 0 : 1;
    }
  });
  if (std::find(failed.begin(), failed.end(), 1) != failed.end()) {
    return ca::OpenSslError("encode CRL entry");
  }
  std::vector<uint32_t>().swap(order);
  size_t revoked_len = 0;
  for (const std::string& s : encoded) revoked_len += s.size();

  // TBSCertList = SEQUENCE { header, revokedCertificates, [0] extensions }.
  const size_t header_len = static_cast<size_t>(extensions - content);
  const size_t ext_len = static_cast<size_t>(end - extensions);
  std::string revoked_header;
  if (!entries.empty()) SequenceHeader(revoked_header, revoked_len);
  const size_t tbs_content = header_len + revoked_header.size() + revoked_len + ext_len;
  // The CRL is written in one buffer: room for the outer SEQUENCE header,
  // then the TBSCertList, signed in place; the header goes in front last.
  constexpr size_t kOuterRoom = 8;
  std::string der(kOuterRoom, '\0');
  SequenceHeader(der, tbs_content);
  der.reserve(der.size() + tbs_content + 256);
  der.append(reinterpret_cast<const char*>(content), header_len);
  der += revoked_header;
  for (std::string& s : encoded) {
    der += s;
    std::string().swap(s);
  }
  der.append(reinterpret_cast<const char*>(extensions), ext_len);
  const size_t tbs_len = der.size() - kOuterRoom;

  // Sign it, and wrap: CertificateList = SEQUENCE { tbs, algorithm, signature }.
  ca::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t sig_len = 0;
  const auto* tbs_bytes = reinterpret_cast<const unsigned char*>(der.data() + kOuterRoom);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(key), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len, tbs_bytes, tbs_len) != 1) {
    return ca::OpenSslError("sign CRL");
  }
  std::vector<unsigned char> sig(sig_len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_len, tbs_bytes, tbs_len) != 1) {
    return ca::OpenSslError("sign CRL");
  }
  const ASN1_BIT_STRING* shell_sig = nullptr;
  const X509_ALGOR* algorithm = nullptr;
  X509_CRL_get0_signature(shell.get(), &shell_sig, &algorithm);
  // A copy of the shell's signature keeps its flags (no unused bits).
  BitStringPtr signature(ASN1_STRING_dup(shell_sig));
  if (!signature || ASN1_BIT_STRING_set(signature.get(), sig.data(), static_cast<int>(sig_len)) != 1 ||
      !AppendDer(der, i2d_X509_ALGOR, const_cast<X509_ALGOR*>(algorithm)) ||
      !AppendDer(der, i2d_ASN1_BIT_STRING, signature.get())) {
    return ca::OpenSslError("encode CRL");
  }
  std::string outer;
  SequenceHeader(outer, der.size() - kOuterRoom);
  if (outer.size() > kOuterRoom) return Status::Internal("CRL too large");
  const size_t start = kOuterRoom - outer.size();
  std::copy(outer.begin(), outer.end(), der.begin() + static_cast<std::ptrdiff_t>(start));
  der.erase(0, start);
  return der;
}

}  // namespace mirrorca::validation
