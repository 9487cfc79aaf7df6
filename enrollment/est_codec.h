// EstCodec: the bytes of EST (RFC 7030, as RFC 8951 clarifies it), built
// and read with OpenSSL's codecs — no hand-written DER:
//   - the URL: /.well-known/est[/<label>]/<operation>; the label names the batch;
//   - bodies: base64 of DER, whitespace ignored (RFC 8951 §3.1, whatever
//     Content-Transfer-Encoding says);
//   - certs-only PKCS#7 (a SignedData without signers) for cacerts and
//     every issued certificate (RFC 7030 §4.1.3, §4.2.3);
//   - CsrAttrs (RFC 7030 §4.5.2) from a certificate profile: the key
//     algorithms and curves, the signature algorithm, the subject's
//     serialNumber attribute a request must carry;
//   - the multipart/mixed answer of serverkeygen (§4.4.2).
//
// Thread-safety: free functions, safe from any thread.
#ifndef MIRRORCA_ENROLLMENT_EST_CODEC_H_
#define MIRRORCA_ENROLLMENT_EST_CODEC_H_

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ca/openssl_types.h"
#include "ca/profile.h"

namespace mirrorca::enrollment {

inline constexpr std::string_view kEstPrefix = "/.well-known/est";

struct EstPath {
  std::string label;      // the batch ("" when the URL names none)
  std::string operation;  // cacerts, simpleenroll, ...
};

// ParseEstPath: nullopt when `path` is not under /.well-known/est; else the
// label and operation (an operation of "" or a path of more than two
// segments leaves `operation` empty: the caller answers 404).
std::optional<EstPath> ParseEstPath(std::string_view path);

// DecodeBase64Body: the DER a base64 body carries, line breaks and other
// whitespace ignored; InvalidArgument for anything else.
Result<std::string> DecodeBase64Body(std::string_view body);
// EncodeBase64Body: base64 in lines of 64 characters, each ending in LF
// (so that `base64 -d`, as RFC 7030's curl examples pipe to, reads it).
std::string EncodeBase64Body(std::string_view der);

// CertsOnlyDer: a degenerate PKCS#7 SignedData (no content, no signers)
// carrying `certs` in order.
Result<std::string> CertsOnlyDer(const std::vector<X509*>& certs);

// CsrAttrsDer: what a request under `profile` must be: one OID per RSA key
// size's algorithm, an id-ecPublicKey attribute whose values are the
// allowed curves, the signature algorithm, and the serialNumber attribute
// type (the device serial).
Result<std::string> CsrAttrsDer(const ca::Profile& profile);

// EstMultipart: the serverkeygen answer (RFC 7030 §4.4.2): the private key
// (application/pkcs8) and the certificate (certs-only PKCS#7), each base64.
struct EstMultipart {
  std::string content_type;  // multipart/mixed; boundary=...
  std::string body;
};
EstMultipart ServerKeygenBody(std::string_view pkcs8_der, std::string_view certs_only_der);

}  // namespace mirrorca::enrollment

#endif  // MIRRORCA_ENROLLMENT_EST_CODEC_H_
