#include "enrollment/est_codec.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>

#include <cctype>

#include "base/encoding.h"
#include "base/status_macros.h"

// CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID (RFC 7030 §4.5.2)
// AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
// declared with OpenSSL's template macros, encoded by its codec.
typedef struct MirrorcaAttrOrOid_st {
  int type;
  union {
    ASN1_OBJECT* oid;
    X509_ATTRIBUTE* attribute;
  } value;
} MIRRORCA_ATTR_OR_OID;

ASN1_CHOICE(MIRRORCA_ATTR_OR_OID) = {
    ASN1_SIMPLE(MIRRORCA_ATTR_OR_OID, value.oid, ASN1_OBJECT),
    ASN1_SIMPLE(MIRRORCA_ATTR_OR_OID, value.attribute, X509_ATTRIBUTE),
} ASN1_CHOICE_END(MIRRORCA_ATTR_OR_OID)

DECLARE_ASN1_FUNCTIONS(MIRRORCA_ATTR_OR_OID)
IMPLEMENT_ASN1_FUNCTIONS(MIRRORCA_ATTR_OR_OID)
DEFINE_STACK_OF(MIRRORCA_ATTR_OR_OID)

ASN1_ITEM_TEMPLATE(MIRRORCA_CSR_ATTRS) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, MirrorcaCsrAttrs, MIRRORCA_ATTR_OR_OID)
ASN1_ITEM_TEMPLATE_END(MIRRORCA_CSR_ATTRS)

namespace mirrorca::enrollment {
namespace {

using AttrOrOidPtr = ca::OpenSslPtr<MIRRORCA_ATTR_OR_OID, MIRRORCA_ATTR_OR_OID_free>;
using Pkcs7Ptr = ca::OpenSslPtr<PKCS7, PKCS7_free>;

void FreeAttrs(STACK_OF(MIRRORCA_ATTR_OR_OID) * sk) { sk_MIRRORCA_ATTR_OR_OID_pop_free(sk, MIRRORCA_ATTR_OR_OID_free); }
using AttrsPtr = ca::OpenSslPtr<STACK_OF(MIRRORCA_ATTR_OR_OID), FreeAttrs>;

Status AddOid(STACK_OF(MIRRORCA_ATTR_OR_OID) * sk, int nid) {
  AttrOrOidPtr a(MIRRORCA_ATTR_OR_OID_new());
  if (!a) return Status::Internal("allocate CsrAttrs");
  a->type = 0;
  a->value.oid = OBJ_nid2obj(nid);
  if (sk_MIRRORCA_ATTR_OR_OID_push(sk, a.get()) <= 0) return Status::Internal("allocate CsrAttrs");
  a.release();
  return Status::Ok();
}

// AddAttribute: Attribute { type, values: SET OF OBJECT IDENTIFIER }.
Status AddAttribute(STACK_OF(MIRRORCA_ATTR_OR_OID) * sk, int type, const std::vector<int>& value_nids) {
  ca::OpenSslPtr<X509_ATTRIBUTE, X509_ATTRIBUTE_free> attr(X509_ATTRIBUTE_new());
  if (!attr || X509_ATTRIBUTE_set1_object(attr.get(), OBJ_nid2obj(type)) != 1) {
    return Status::Internal("allocate CsrAttrs");
  }
  for (int nid : value_nids) {
    if (X509_ATTRIBUTE_set1_data(attr.get(), V_ASN1_OBJECT, OBJ_nid2obj(nid), -1) != 1) {
      return Status::Internal("allocate CsrAttrs");
    }
  }
  AttrOrOidPtr a(MIRRORCA_ATTR_OR_OID_new());
  if (!a) return Status::Internal("allocate CsrAttrs");
  a->type = 1;
  a->value.attribute = attr.release();
  if (sk_MIRRORCA_ATTR_OR_OID_push(sk, a.get()) <= 0) return Status::Internal("allocate CsrAttrs");
  a.release();
  return Status::Ok();
}

}  // namespace

std::optional<EstPath> ParseEstPath(std::string_view path) {
  if (path.substr(0, kEstPrefix.size()) != kEstPrefix) return std::nullopt;
  std::string_view rest = path.substr(kEstPrefix.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // /.well-known/estate is not EST
  EstPath out;
  if (rest.size() <= 1) return out;
  rest.remove_prefix(1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    out.operation = std::string(rest);
    return out;
  }
  std::string_view op = rest.substr(slash + 1);
  if (op.find('/') != std::string_view::npos) return out;  // too deep: no operation
  out.label = std::string(rest.substr(0, slash));
  out.operation = std::string(op);
  return out;
}

Result<std::string> DecodeBase64Body(std::string_view body) {
  std::string compact;
  compact.reserve(body.size());
  for (char c : body) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  if (compact.empty()) return Status::InvalidArgument("the body is empty (base64 DER expected, RFC 7030)");
  Result<Bytes> der = Base64Decode(compact);
  if (!der.ok()) return Status::InvalidArgument("the body is not base64 (RFC 7030 and RFC 8951 §3.1 ask for base64 DER)");
  return std::string(der->begin(), der->end());
}

std::string EncodeBase64Body(std::string_view der) {
  const std::string text = Base64Encode(AsBytes(der));
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (size_t i = 0; i < text.size(); i += 64) {
    out.append(text, i, 64);
    out += '\n';
  }
  return out;
}

Result<std::string> CertsOnlyDer(const std::vector<X509*>& certs) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1) return Status::Internal("allocate PKCS#7");
  // encapContentInfo: id-data without content (what `openssl crl2pkcs7` writes).
  ASN1_OBJECT_free(p7->d.sign->contents->type);
  p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
  for (X509* c : certs) {
    if (PKCS7_add_certificate(p7.get(), c) != 1) {
      ERR_clear_error();
      return Status::Internal("PKCS#7: add a certificate");
    }
  }
  unsigned char* der = nullptr;
  const int n = i2d_PKCS7(p7.get(), &der);
  if (n <= 0) {
    ERR_clear_error();
    return Status::Internal("PKCS#7 does not encode");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

Result<std::string> CsrAttrsDer(const ca::Profile& profile) {
  AttrsPtr sk(sk_MIRRORCA_ATTR_OR_OID_new_null());
  if (!sk) return Status::Internal("allocate CsrAttrs");
  std::vector<int> curves;
  bool rsa = false;
  for (ca::KeyType k : profile.keys) {
    switch (k) {
      case ca::KeyType::kP256: curves.push_back(NID_X9_62_prime256v1); break;
      case ca::KeyType::kP384: curves.push_back(NID_secp384r1); break;
      case ca::KeyType::kRsa2048:
      case ca::KeyType::kRsa3072:
      case ca::KeyType::kRsa4096: rsa = true; break;
      default: break;
    }
  }
  // The serialNumber attribute (the device serial) every request's subject carries.
  RETURN_IF_ERROR(AddOid(sk.get(), NID_serialNumber));
  if (!curves.empty()) {
    RETURN_IF_ERROR(AddAttribute(sk.get(), NID_X9_62_id_ecPublicKey, curves));
    RETURN_IF_ERROR(AddOid(sk.get(), profile.digest == "sha384" ? NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256));
  }
  if (rsa) {
    RETURN_IF_ERROR(AddOid(sk.get(), NID_rsaEncryption));
    RETURN_IF_ERROR(AddOid(sk.get(), profile.digest == "sha384" ? NID_sha384WithRSAEncryption
                                                                 : NID_sha256WithRSAEncryption));
  }
  unsigned char* der = nullptr;
  const int n = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(sk.get()), &der, ASN1_ITEM_rptr(MIRRORCA_CSR_ATTRS));
  if (n <= 0) {
    ERR_clear_error();
    return Status::Internal("CsrAttrs does not encode");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

EstMultipart ServerKeygenBody(std::string_view pkcs8_der, std::string_view certs_only_der) {
  // '-' is outside the base64 alphabet, so no body line can be the boundary.
  constexpr std::string_view kBoundary = "mirrorca-est-serverkeygen";
  EstMultipart m;
  m.content_type = "multipart/mixed; boundary=" + std::string(kBoundary);
  std::string& b = m.body;
  b += "--" + std::string(kBoundary) + "\r\n";
  b += "Content-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  b += EncodeBase64Body(pkcs8_der);
  b += "--" + std::string(kBoundary) + "\r\n";
  b += "Content-Type: application/pkcs7-mime; smime-type=certs-only\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  b += EncodeBase64Body(certs_only_der);
  b += "--" + std::string(kBoundary) + "--\r\n";
  return m;
}

}  // namespace mirrorca::enrollment
