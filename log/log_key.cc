#include "log/log_key.h"

#include <openssl/err.h>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "log/crypto_names.h"
#include "log/crypto_names.h"

namespace mirrorca::log {
namespace {

constexpr uint8_t kEd25519Type = 0x01;  // signed-note signature type for Ed25519

// ThreadContext returns this thread's reusable digest context, reset so that
// no state of the previous key or operation leaks into the next one.
EVP_MD_CTX* ThreadContext() {
  thread_local EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx) EVP_MD_CTX_reset(ctx.get());
  return ctx.get();
}

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

Result<LogSigner> LogSigner::FromPkey(std::string name, EvpPkeyPtr pkey) {
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument("log key is not an Ed25519 key");
  }
  uint8_t pub[kEd25519KeySize];
  size_t len = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub, &len) != 1 || len != sizeof(pub)) {
    return OpenSslError("extract Ed25519 public key");
  }
  ASSIGN_OR_RETURN(LogVerifier v, LogVerifier::FromPublicKey(std::move(name), ByteSpan(pub, len)));
  LogSigner s;
  s.verifier_ = std::move(v);
  s.pkey_.reset(pkey.release(), EVP_PKEY_free);
  return s;
}

Result<LogSigner> LogSigner::Renamed(std::string name) const {
  LogSigner s;
  s.pkey_ = pkey_;
  ASSIGN_OR_RETURN(s.verifier_, LogVerifier::FromPublicKey(std::move(name), verifier_.public_key()));
  return s;
}

Result<LogSigner> LogSigner::Generate(std::string name) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) return OpenSslError("generate Ed25519 key");
  return FromPkey(std::move(name), EvpPkeyPtr(raw));
}

Result<LogSigner> LogSigner::FromSeed(std::string name, ByteSpan seed) {
  if (seed.size() != kEd25519KeySize) return Status::InvalidArgument("seed must be 32 bytes");
  EVP_PKEY* raw =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (raw == nullptr) return OpenSslError("load Ed25519 seed", StatusCode::kInvalidArgument);
  return FromPkey(std::move(name), EvpPkeyPtr(raw));
}

Result<LogSigner> LogSigner::LoadPem(Env* env, const std::string& path, std::string name) {
  ASSIGN_OR_RETURN(EvpPkeyPtr key, LoadPrivateKeyPem(env, path));
  return FromPkey(std::move(name), std::move(key));
}

Status LogSigner::SavePem(Env* env, const std::string& path) const {
  return SavePrivateKeyPem(env, path, pkey_.get());
}

Result<Bytes> LogSigner::Sign(ByteSpan message) const {
  EVP_MD_CTX* ctx = ThreadContext();
  Bytes sig(kEd25519SignatureSize);
  size_t len = sig.size();
  if (ctx == nullptr || EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx, sig.data(), &len, message.data(), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    return OpenSslError("Ed25519 sign");
  }
  return sig;
}

}  // namespace mirrorca::log
