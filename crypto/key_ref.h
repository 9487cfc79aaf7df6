// KeyRef: how a private key is named wherever the code or a config takes
// one — a PEM file path (mode 0600), or an RFC 7512 `pkcs11:` URI naming an
// object in a PKCS#11 token (docs/key_custody.md).
//
//   factory/ca/ca.key
//   pkcs11:token=mirrorca;object=factory-ca;type=private?pin-source=file:/etc/mirrorca/pin
//   pkcs11:token=mirrorca;id=%01%02?pin-source=env:MIRRORCA_PIN&module-path=/usr/lib/softhsm/libsofthsm2.so
//
// The PIN is never part of the reference: `pin-value` is refused (a URI
// appears in argv, configs and logs), and `pin-source` names a file (read
// when the key is opened; mode 0600 like a key file) or an environment
// variable. ToString() prints a reference without anything secret.
//
// Thread-safety: plain values.
#ifndef MIRRORCA_CRYPTO_KEY_REF_H_
#define MIRRORCA_CRYPTO_KEY_REF_H_

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/env.h"
#include "base/result.h"

namespace mirrorca::crypto {

struct KeyRef {
  enum class Kind { kFile, kPkcs11 };
  Kind kind = Kind::kFile;
  std::string path;         // kFile
  // kPkcs11 (RFC 7512 path attributes, percent-decoded):
  std::string token;        // token label
  std::string object;       // object label
  Bytes id;                 // object id (CKA_ID)
  std::string module_path;  // the PKCS#11 module (default: the one configured for the process)
  std::string pin_source;   // "file:/path" or "env:NAME" ("" : no login)

  bool is_pkcs11() const { return kind == Kind::kPkcs11; }
  // ToString: the reference as given, never a PIN.
  std::string ToString() const;
};

// What a `pkcs11:` URI must name: one key (object= or id=), or a token
// (token=; where new keys go, crypto/key_store.h).
enum class RefTarget { kKey, kToken };

// ParseKeyRef reads a file path or a `pkcs11:` URI. InvalidArgument for a
// URI with `pin-value`, an unknown or repeated attribute, bad percent
// encoding, or (for a key) neither an object nor an id.
Result<KeyRef> ParseKeyRef(std::string_view text, RefTarget target = RefTarget::kKey);

// ReadPin returns the PIN `ref.pin_source` names: a file (refused unless
// mode 0600, trailing newline dropped) or an environment variable.
// NotFound when the variable or the file is missing.
Result<std::string> ReadPin(Env* env, const KeyRef& ref);

}  // namespace mirrorca::crypto

#endif  // MIRRORCA_CRYPTO_KEY_REF_H_
