#include "ca/request_vetting.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <regex>

#include "ca/certificate.h"
#include "ca/libctx_pool.h"

namespace mirrorca::ca {
namespace {

VetOutcome Fail(VetFailure f, std::string detail) {
  VetOutcome o;
  o.failure = f;
  o.detail = std::move(detail);
  return o;
}

// EncodableAs: `value` can be the value of subject attribute `type` as the
// certificate builder encodes it (OpenSSL's string table: serialNumber,
// countryName, … are PrintableString only, which has no '_', '@', '*', …).
bool EncodableAs(std::string_view value, const std::string& type) {
  Asn1ObjectPtr obj(OBJ_txt2obj(type.c_str(), 0));
  if (!obj) return false;
  X509NameEntryPtr entry(X509_NAME_ENTRY_create_by_OBJ(nullptr, obj.get(), MBSTRING_UTF8,
                                                      reinterpret_cast<const unsigned char*>(value.data()),
                                                      static_cast<int>(value.size())));
  if (!entry) ERR_clear_error();
  return entry != nullptr;
}

// KeyAllowed: the profile's key rule for a key of type `type`
// (`description` names it in the refusal).
VetOutcome KeyAllowed(KeyType type, const std::string& description, const Profile& profile) {
  if (!profile.AllowsKey(type)) {
    std::string allowed;
    for (KeyType k : profile.keys) allowed += (allowed.empty() ? "" : ", ") + std::string(KeyTypeName(k));
    return Fail(VetFailure::kKeyNotAllowed, "key " + description + " is not allowed by profile " + profile.name +
                                                " (allowed: " + allowed + ")");
  }
  return VetOutcome{};
}

}  // namespace

VetOutcome VetRequest(std::string_view csr, const Profile& profile, RequestKey key_use) {
  // A context of our own: the default one's locks dominate under concurrency.
  LibCtxLease libctx;
  // The common request (P-256, ECDSA with SHA-256) without OpenSSL's generic
  // key decoder; the same outcome as below (ca/p256_request_test.cc).
  P256Request fast = ReadP256Request(csr, libctx.get(),
                                     key_use == RequestKey::kKeep ? P256Key::kKeep : P256Key::kVerifyOnly);
  switch (fast.verdict) {
    case P256Request::Verdict::kBadKey:
      return Fail(VetFailure::kBadCsr, "CSR has no usable public key");
    case P256Request::Verdict::kBadSignature:
      return Fail(VetFailure::kProofOfPossession, "CSR signature does not verify with its key");
    case P256Request::Verdict::kValid: {
      VetOutcome o = fast.key ? VetKey(fast.key.get(), profile)
                              : KeyAllowed(KeyType::kP256, std::string(KeyTypeName(KeyType::kP256)), profile);
      if (!o.ok()) return o;
      o.spki = std::move(fast.spki);
      o.spki_der = std::move(fast.spki_der);
      return o;
    }
    case P256Request::Verdict::kOtherShape:
      break;
  }
  Result<X509ReqPtr> req = ParseRequest(csr, libctx.get());
  if (!req.ok()) return Fail(VetFailure::kBadCsr, req.status().message());
  EVP_PKEY* key = X509_REQ_get0_pubkey(req->get());
  if (key == nullptr) {
    ERR_clear_error();
    return Fail(VetFailure::kBadCsr, "CSR has no usable public key");
  }
  // Proof of possession: the request is signed by the key it carries.
  if (X509_REQ_verify_ex(req->get(), key, libctx.get(), nullptr) != 1) {
    ERR_clear_error();
    return Fail(VetFailure::kProofOfPossession, "CSR signature does not verify with its key");
  }
  VetOutcome o = VetKey(key, profile);
  if (!o.ok()) return o;
  // The key as the CSR encodes it (already DER).
  unsigned char* spki = nullptr;
  const int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req->get()), &spki);
  if (n <= 0) {
    ERR_clear_error();
    return Fail(VetFailure::kBadCsr, "the CSR's public key does not encode");
  }
  o.spki_der.assign(reinterpret_cast<const char*>(spki), static_cast<size_t>(n));
  OPENSSL_free(spki);
  o.request = std::move(*req);
  return o;
}

VetOutcome VetKey(EVP_PKEY* key, const Profile& profile) {
  VetOutcome o = KeyAllowed(ClassifyKey(key), DescribeKey(key), profile);
  if (o.ok()) o.public_key = UpRef(key);
  return o;
}

VetOutcome VetPublicKey(std::string_view spki_der, const Profile& profile) {
  LibCtxLease libctx;
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  EvpPkeyPtr key(d2i_PUBKEY_ex(nullptr, &p, static_cast<long>(spki_der.size()), libctx.get(), nullptr));
  if (!key || p != reinterpret_cast<const unsigned char*>(spki_der.data()) + spki_der.size()) {
    ERR_clear_error();
    return Fail(VetFailure::kBadCsr, "the requested public key does not parse");
  }
  return VetKey(key.get(), profile);
}

VetOutcome VetDeviceSerial(std::string_view device_serial, const Profile& profile) {
  if (device_serial.empty()) return Fail(VetFailure::kSubjectNotAllowed, "device_serial is empty");
  if (device_serial.size() > 64) {
    return Fail(VetFailure::kSubjectNotAllowed, "device_serial is longer than 64 characters");
  }
  // Patterns are short and fixed per profile; compile once per thread.
  thread_local std::string cached_pattern;
  thread_local std::regex cached_regex;
  if (cached_pattern != profile.device_serial_pattern) {
    try {
      cached_regex = std::regex(profile.device_serial_pattern, std::regex::ECMAScript);
      cached_pattern = profile.device_serial_pattern;
    } catch (const std::regex_error&) {
      return Fail(VetFailure::kSubjectNotAllowed,
                  "profile " + profile.name + " has an invalid device_serial_pattern");
    }
  }
  if (!std::regex_match(device_serial.begin(), device_serial.end(), cached_regex)) {
    return Fail(VetFailure::kSubjectNotAllowed, "device_serial does not match profile " +
                                                    profile.name + " pattern " +
                                                    profile.device_serial_pattern);
  }
  // What the pattern admits must also be encodable where the profile puts
  // it: a refusal here, not an internal error when the certificate is built.
  for (const SubjectAttribute& attr : profile.subject) {
    if (attr.value.find("{device_serial}") == std::string::npos) continue;
    if (!EncodableAs(device_serial, attr.type)) {
      return Fail(VetFailure::kSubjectNotAllowed,
                  "device_serial '" + std::string(device_serial) + "' cannot be encoded in the subject's " + attr.type +
                      " (a PrintableString: letters, digits, space and ' ( ) + , - . / : = ? only)");
    }
  }
  return {};
}

}  // namespace mirrorca::ca
