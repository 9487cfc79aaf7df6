#include "crypto/key_store.h"

#include <openssl/evp.h>

#include <filesystem>
#include <system_error>

#include "base/status_macros.h"
#include "crypto/key_open.h"
#include "crypto/private_key_file.h"

namespace mirrorca::crypto {
namespace {

constexpr std::string_view kScheme = "pkcs11:";
constexpr size_t kMaxReferenceFile = 4096;

bool StartsWithScheme(std::string_view s) { return s.substr(0, kScheme.size()) == kScheme; }

const char* OpenSslKeyType(TokenKeyType type) {
  switch (type) {
    case TokenKeyType::kP256: return "P-256";
    case TokenKeyType::kP384: return "P-384";
    case TokenKeyType::kEd25519: return "ED25519";
  }
  return "";
}

}  // namespace

Result<KeyStore> ParseKeyStore(std::string_view text) {
  KeyStore store;
  if (text.empty() || text == "files") return store;
  ASSIGN_OR_RETURN(KeyRef ref, ParseKeyRef(text, RefTarget::kToken));
  if (!ref.is_pkcs11() || ref.token.empty()) {
    return Status::InvalidArgument("a key store is 'files' or pkcs11:token=<label>[?pin-source=…]");
  }
  if (!ref.object.empty() || !ref.id.empty()) {
    return Status::InvalidArgument("a key store names a token, not an object (drop object= and id=)");
  }
  store.token = std::move(ref);
  return store;
}

std::string TokenLabelFor(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

bool IsKeyReferenceFile(Env* env, const std::string& path) {
  Result<std::string> text = env->ReadFile(path, kMaxReferenceFile);
  return text.ok() && StartsWithScheme(*text);
}

Result<KeyRef> KeyRefAt(Env* env, const std::string& path_or_uri) {
  if (StartsWithScheme(path_or_uri)) return ParseKeyRef(path_or_uri);
  // A reference file is small; a PEM key may be larger than the limit
  // (RSA-4096), which then reads as "not a reference".
  Result<std::string> text = env->ReadFile(path_or_uri, kMaxReferenceFile);
  if (text.ok() && StartsWithScheme(*text)) {
    std::string line = *text;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.pop_back();
    Result<KeyRef> ref = ParseKeyRef(line);
    if (!ref.ok()) return ref.status().WithContext("key reference file " + path_or_uri);
    return ref;
  }
  if (text.ok()) OPENSSL_cleanse(text->data(), text->size());
  KeyRef file;
  file.path = path_or_uri;
  return file;
}

Result<EvpPkeyPtr> OpenKeyAt(Env* env, const std::string& path_or_uri) {
  ASSIGN_OR_RETURN(KeyRef ref, KeyRefAt(env, path_or_uri));
  return OpenEvpKey(env, ref);
}

Result<KeyStore> StoreOfKeyAt(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(KeyRef ref, KeyRefAt(env, path));
  KeyStore store;
  if (!ref.is_pkcs11()) return store;
  ref.object.clear();
  ref.id.clear();
  store.token = std::move(ref);
  return store;
}

Result<EvpPkeyPtr> CreateKey(Env* env, const KeyStore& store, const std::string& path, TokenKeyType type) {
  if (!store.in_token()) {
    EvpPkeyPtr key(type == TokenKeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", OpenSslKeyType(type)));
    if (!key) return OpenSslError(std::string("generate a ") + OpenSslKeyType(type) + " key");
    RETURN_IF_ERROR(SavePrivateKeyPem(env, path, key.get()));
    return key;
  }
  // Like a file, a key made at a path replaces the one known by it.
  if (IsKeyReferenceFile(env, path)) RETURN_IF_ERROR(RemoveKey(env, path));
  ASSIGN_OR_RETURN(std::shared_ptr<TokenSession> session, TokenSession::Open(env, *store.token));
  ASSIGN_OR_RETURN(KeyRef ref, session->Generate(type, TokenLabelFor(path)));
  if (Status s = env->WriteFileAtomic(path, ref.ToString() + "\n", 0600); !s.ok()) {
    (void)session->Destroy(ref);
    return s;
  }
  // An Ed25519 token key signs through the C API, not through OpenSSL
  // (crypto/ed25519_signer.h); the caller opens it there.
  if (type == TokenKeyType::kEd25519) return EvpPkeyPtr();
  return OpenEvpKey(env, ref);
}

Status StoreKey(Env* env, const KeyStore& store, const std::string& path, EVP_PKEY* key) {
  if (!store.in_token()) return SavePrivateKeyPem(env, path, key);
  if (IsKeyReferenceFile(env, path)) RETURN_IF_ERROR(RemoveKey(env, path));
  ASSIGN_OR_RETURN(std::shared_ptr<TokenSession> session, TokenSession::Open(env, *store.token));
  ASSIGN_OR_RETURN(KeyRef ref, session->Import(key, TokenLabelFor(path)));
  if (Status s = env->WriteFileAtomic(path, ref.ToString() + "\n", 0600); !s.ok()) {
    (void)session->Destroy(ref);
    return s;
  }
  return Status::Ok();
}

Status PromoteKey(Env* env, const std::string& next_path, const std::string& path) {
  std::optional<KeyRef> old;
  if (env->FileExists(path)) {
    ASSIGN_OR_RETURN(old, KeyRefAt(env, path));
  }
  std::error_code ec;
  std::filesystem::rename(next_path, path, ec);
  if (ec) return Status::IOError("move the new key " + next_path + " into place: " + ec.message());
  if (old && old->is_pkcs11()) {
    // Best effort: the old key is out of service either way.
    Result<std::shared_ptr<TokenSession>> session = TokenSession::Open(env, *old);
    if (session.ok()) (void)(*session)->Destroy(*old);
  }
  return Status::Ok();
}

Status RemoveKey(Env* env, const std::string& path) {
  if (!env->FileExists(path)) return Status::Ok();
  ASSIGN_OR_RETURN(KeyRef ref, KeyRefAt(env, path));
  if (ref.is_pkcs11()) {
    ASSIGN_OR_RETURN(std::shared_ptr<TokenSession> session, TokenSession::Open(env, ref));
    RETURN_IF_ERROR(session->Destroy(ref));
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) return Status::IOError("remove " + path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace mirrorca::crypto
