#include "crypto/private_key_file.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <memory>

#include "base/status_macros.h"

namespace mirrorca::crypto {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

}  // namespace

Status SavePrivateKeyPem(Env* env, const std::string& path, EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("encode private key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  Status s = env->WriteFileAtomic(path, std::string_view(data, static_cast<size_t>(len)), 0600);
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return s;
}

Result<EvpPkeyPtr> ParsePrivateKeyPem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("allocate BIO");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return OpenSslError("parse private key", StatusCode::kInvalidArgument);
  return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> LoadPrivateKeyPem(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(uint32_t mode, env->FileMode(path));
  if ((mode & 077) != 0) {
    return Status::PermissionDenied("private key file " + path +
                                    " is accessible by group or others; chmod 600 it");
  }
  ASSIGN_OR_RETURN(std::string pem, env->ReadFile(path, 1 << 16));
  Result<EvpPkeyPtr> key = ParsePrivateKeyPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key.ok()) return key.status().WithContext(path);
  return key;
}

}  // namespace mirrorca::crypto
