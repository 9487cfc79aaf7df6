#include "ca/keys.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstring>

#include "base/status_macros.h"

namespace mirrorca::ca {
namespace {

struct KeyTypeSpelling {
  KeyType type;
  std::string_view name;
};
constexpr KeyTypeSpelling kSpellings[] = {
    {KeyType::kP256, "p256"},       {KeyType::kP384, "p384"},       {KeyType::kRsa2048, "rsa2048"},
    {KeyType::kRsa3072, "rsa3072"}, {KeyType::kRsa4096, "rsa4096"}, {KeyType::kEd25519, "ed25519"},
};

}  // namespace

std::string_view KeyTypeName(KeyType t) {
  for (const auto& s : kSpellings) {
    if (s.type == t) return s.name;
  }
  return "other";
}

Result<KeyType> ParseKeyType(std::string_view name) {
  for (const auto& s : kSpellings) {
    if (s.name == name) return s.type;
  }
  return Status::InvalidArgument("unknown key type '" + std::string(name) +
                                 "' (expected p256, p384, rsa2048, rsa3072, rsa4096)");
}

KeyType ClassifyKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                         &len) != 1) {
        ERR_clear_error();
        return KeyType::kOther;
      }
      std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256") return KeyType::kP256;
      if (g == "secp384r1" || g == "P-384") return KeyType::kP384;
      return KeyType::kOther;
    }
    case EVP_PKEY_RSA:
      switch (EVP_PKEY_get_bits(key)) {
        case 2048: return KeyType::kRsa2048;
        case 3072: return KeyType::kRsa3072;
        case 4096: return KeyType::kRsa4096;
        default: return KeyType::kOther;
      }
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    default:
      return KeyType::kOther;
  }
}

std::string DescribeKey(EVP_PKEY* key) {
  const KeyType t = ClassifyKey(key);
  if (t != KeyType::kOther) return std::string(KeyTypeName(t));
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_get_bits(key)) + "-bit";
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1) {
        ERR_clear_error();
        return "EC (explicit or unnamed curve)";
      }
      return "EC " + std::string(group, len);
    }
    case EVP_PKEY_ED448: return "Ed448";
    case EVP_PKEY_DSA: return "DSA " + std::to_string(EVP_PKEY_get_bits(key)) + "-bit";
    default: {
      const char* name = EVP_PKEY_get0_type_name(key);
      return name != nullptr ? std::string(name) : "an unknown key type";
    }
  }
}

Result<EvpPkeyPtr> GenerateKey(KeyType type) {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::kP256: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::kP384: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::kRsa2048: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
    case KeyType::kRsa3072: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}); break;
    case KeyType::kRsa4096: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}); break;
    case KeyType::kEd25519: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case KeyType::kOther: return Status::InvalidArgument("cannot generate a key of unknown type");
  }
  if (raw == nullptr) return OpenSslError("generate " + std::string(KeyTypeName(type)) + " key");
  return EvpPkeyPtr(raw);
}

Result<std::string> EncryptedPkcs8Pem(EVP_PKEY* key, std::string_view password) {
  if (password.size() < 8) {
    return Status::InvalidArgument("key password must have at least 8 characters");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), password.data(),
                                            static_cast<int>(password.size()), nullptr,
                                            nullptr) != 1) {
    return OpenSslError("encrypt private key");
  }
  return BioContents(bio.get());
}

Result<std::string> Pkcs8Der(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || i2d_PKCS8PrivateKey_bio(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("encode private key");
  }
  return BioContents(bio.get());
}

Result<std::string> PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return OpenSslError("encode public key");
  return BioContents(bio.get());
}

Result<Bytes> SpkiDer(EVP_PKEY* key) {
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return OpenSslError("encode SubjectPublicKeyInfo");
  Bytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PUBKEY(key, &p) != len) return OpenSslError("encode SubjectPublicKeyInfo");
  return out;
}

}  // namespace mirrorca::ca
