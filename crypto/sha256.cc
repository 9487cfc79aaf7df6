#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "crypto/openssl_ptr.h"

namespace mirrorca::crypto {
namespace {

const EVP_MD* Sha256Md() {
  // Explicit fetch once: implicit fetching on every call costs more than
  // hashing the 65-byte inputs of a Merkle node.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) std::abort();  // OpenSSL without SHA-256 cannot run mirrorca
  return md;
}

EVP_MD_CTX* ThreadContext() {
  thread_local EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx.get();
}

}  // namespace

Hash Sha256(std::initializer_list<ByteSpan> parts) {
  EVP_MD_CTX* ctx = ThreadContext();
  Hash out{};
  unsigned int len = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) == 1;
  for (ByteSpan p : parts) ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
  if (!ok || len != out.size()) std::abort();  // only on memory exhaustion inside OpenSSL
  return out;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, Sha256Md(), nullptr) != 1) std::abort();
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::Update(ByteSpan data) {
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) std::abort();
}

Hash Sha256Stream::Peek() const {
  EvpMdCtxPtr copy(EVP_MD_CTX_new());
  Hash out{};
  unsigned int len = 0;
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_) != 1 ||
      EVP_DigestFinal_ex(copy.get(), out.data(), &len) != 1 || len != out.size()) {
    std::abort();
  }
  return out;
}

}  // namespace mirrorca::crypto
