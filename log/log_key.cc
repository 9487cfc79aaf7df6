#include "log/log_key.h"

#include <openssl/err.h>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "log/crypto_names.h"

namespace mirrorca::log {
namespace {

constexpr uint8_t kEd25519Type = 0x01;  // signed-note signature type for Ed25519

}  // namespace

KeyId ComputeKeyId(std::string_view name, ByteSpan public_key) {
  const uint8_t sep[2] = {0x0a, kEd25519Type};
  Hash h = Sha256({AsBytes(name), ByteSpan(sep, 2), public_key});
  return {h[0], h[1], h[2], h[3]};
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '+') return false;
  }
  return true;
}

Result<LogVerifier> LogVerifier::FromPublicKey(std::string name, ByteSpan public_key) {
  if (!IsValidKeyName(name)) return Status::InvalidArgument("invalid key name");
  if (public_key.size() != kEd25519KeySize) {
    return Status::InvalidArgument("Ed25519 public key must be 32 bytes");
  }
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(),
                                              public_key.size());
  if (raw == nullptr) return OpenSslError("load Ed25519 public key", StatusCode::kInvalidArgument);
  LogVerifier v;
  v.name_ = std::move(name);
  v.public_key_.assign(public_key.begin(), public_key.end());
  v.key_id_ = ComputeKeyId(v.name_, public_key);
  v.pkey_.reset(raw, EVP_PKEY_free);
  return v;
}

Result<LogVerifier> LogVerifier::Parse(std::string_view text) {
  // name+hex+base64; the name may not contain '+', base64 may.
  size_t p1 = text.find('+');
  if (p1 == std::string_view::npos) return Status::InvalidArgument("verifier key: missing '+'");
  size_t p2 = text.find('+', p1 + 1);
  if (p2 == std::string_view::npos || p2 - p1 - 1 != 8) {
    return Status::InvalidArgument("verifier key: key id must be 8 hex digits");
  }
  std::string name(text.substr(0, p1));
  ASSIGN_OR_RETURN(Bytes id, HexDecode(text.substr(p1 + 1, 8)));
  ASSIGN_OR_RETURN(Bytes key, Base64Decode(text.substr(p2 + 1)));
  if (key.empty() || key[0] != kEd25519Type) {
    return Status::InvalidArgument("verifier key: only Ed25519 (type 0x01) is supported");
  }
  ASSIGN_OR_RETURN(LogVerifier v,
                   FromPublicKey(name, ByteSpan(key.data() + 1, key.size() - 1)));
  if (!std::equal(id.begin(), id.end(), v.key_id_.begin())) {
    return Status::InvalidArgument("verifier key: key id does not match the key");
  }
  return v;
}

std::string LogVerifier::VerifierKey() const {
  Bytes typed;
  typed.push_back(kEd25519Type);
  typed.insert(typed.end(), public_key_.begin(), public_key_.end());
  return name_ + "+" + HexEncode(key_id_) + "+" + Base64Encode(typed);
}

bool LogVerifier::Verify(ByteSpan message, ByteSpan signature) const {
  if (signature.size() != kEd25519SignatureSize || pkey_ == nullptr) return false;
  // One initialized verification context per thread and key: OpenSSL 3's
  // EVP_DigestVerifyInit (algorithm fetch, key import) costs about a tenth
  // of the verification itself, and one-shot Ed25519 verification leaves
  // the context reusable (as `openssl speed` relies on). A failure is
  // retried once on a freshly initialized context, so a reuse problem can
  // never turn into a wrong answer, only into a slower one.
  struct Cached {
    std::shared_ptr<EVP_PKEY> key;
    EvpMdCtxPtr ctx;
  };
  thread_local Cached cached;
  auto verify_with = [&](EVP_MD_CTX* ctx) {
    return EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(),
                            message.size()) == 1;
  };
  if (cached.key == pkey_ && cached.ctx && verify_with(cached.ctx.get())) return true;
  ERR_clear_error();
  EvpMdCtxPtr fresh(EVP_MD_CTX_new());
  if (!fresh || EVP_DigestVerifyInit(fresh.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  bool ok = verify_with(fresh.get());
  ERR_clear_error();
  if (ok) {
    cached.key = pkey_;
    cached.ctx = std::move(fresh);
  }
  return ok;
}

Result<LogSigner> LogSigner::FromKey(std::string name, crypto::Ed25519Signer key) {
  ASSIGN_OR_RETURN(LogVerifier v, LogVerifier::FromPublicKey(std::move(name), key.public_key()));
  LogSigner s(std::move(key));
  s.verifier_ = std::move(v);
  return s;
}

Result<LogSigner> LogSigner::Renamed(std::string name) const { return FromKey(std::move(name), key_); }

Result<LogSigner> LogSigner::Generate(std::string name) {
  ASSIGN_OR_RETURN(crypto::Ed25519Signer key, crypto::Ed25519Signer::Generate());
  return FromKey(std::move(name), std::move(key));
}

Result<LogSigner> LogSigner::FromSeed(std::string name, ByteSpan seed) {
  ASSIGN_OR_RETURN(crypto::Ed25519Signer key, crypto::Ed25519Signer::FromSeed(seed));
  return FromKey(std::move(name), std::move(key));
}

Result<LogSigner> LogSigner::Open(Env* env, const std::string& path, std::string name) {
  Result<crypto::Ed25519Signer> key = crypto::Ed25519Signer::OpenAt(env, path);
  if (!key.ok()) return key.status().WithContext("log key");
  return FromKey(std::move(name), std::move(*key));
}

Result<LogSigner> LogSigner::Create(Env* env, const crypto::KeyStore& keys, const std::string& path,
                                    std::string name) {
  if (!IsValidKeyName(name)) return Status::InvalidArgument("invalid key name");
  ASSIGN_OR_RETURN(crypto::Ed25519Signer key, crypto::Ed25519Signer::Create(env, keys, path));
  return FromKey(std::move(name), std::move(key));
}

Status LogSigner::SavePem(Env* env, const std::string& path) const { return key_.SavePem(env, path); }

Result<Bytes> LogSigner::Sign(ByteSpan message) const { return key_.Sign(message); }

}  // namespace mirrorca::log
