#include "ca/hierarchy.h"

#include "base/status_macros.h"
#include "ca/cert_builder.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "ca/request_vetting.h"
#include "ca/serial.h"

namespace mirrorca::ca {
namespace {

TemplateValues ValuesOf(const CaSubject& s) {
  TemplateValues v{{"organization", s.organization}, {"factory", s.factory}};
  if (!s.vendor_id.empty()) v["vid"] = s.vendor_id;
  return v;
}

}  // namespace

Result<KeyAndCertificate> CreateRoot(const CaSubject& subject, KeyType key_type, int64_t now) {
  ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateKey(key_type));
  return CreateRoot(subject, std::move(key), now);
}

Result<KeyAndCertificate> CreateRoot(const CaSubject& subject, EvpPkeyPtr key, int64_t now) {
  ASSIGN_OR_RETURN(Profile profile, BuiltinProfile("root-ca"));
  const KeyType key_type = ClassifyKey(key.get());
  if (!profile.AllowsKey(key_type)) {
    return Status::InvalidArgument("root key type " + std::string(KeyTypeName(key_type)) +
                                   " not allowed");
  }
  ASSIGN_OR_RETURN(Bytes serial, RandomSerial());
  CertificateSpec spec;
  spec.profile = &profile;
  spec.values = ValuesOf(subject);
  spec.subject_key = key.get();
  spec.serial = serial;
  spec.now = now;
  ASSIGN_OR_RETURN(X509Ptr cert, BuildCertificate(spec));
  return KeyAndCertificate{std::move(key), std::move(cert)};
}

Result<X509ReqPtr> CreateCaRequest(EVP_PKEY* key, const Profile& ca_profile,
                                   const CaSubject& subject) {
  X509ReqPtr req(X509_REQ_new());
  X509NamePtr name(X509_NAME_new());
  if (!req || !name) return OpenSslError("allocate CSR");
  const TemplateValues values = ValuesOf(subject);
  for (const SubjectAttribute& attr : ca_profile.subject) {
    ASSIGN_OR_RETURN(std::string value, ExpandTemplate(attr.value, values));
    Asn1ObjectPtr obj(OBJ_txt2obj(attr.type.c_str(), 0));
    if (!obj || X509_NAME_add_entry_by_OBJ(name.get(), obj.get(), MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(value.data()),
                                           static_cast<int>(value.size()), -1, 0) != 1) {
      return OpenSslError("CSR subject " + attr.type);
    }
  }
  if (X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1 ||
      X509_REQ_sign(req.get(), key, DigestFor(ca_profile, key)) <= 0) {
    return OpenSslError("sign CSR");
  }
  return req;
}

Result<X509Ptr> SignCaRequest(std::string_view csr, const Profile& ca_profile,
                              const CaSubject& subject, X509* issuer_cert, EVP_PKEY* issuer_key,
                              const IssuingCaUrls& issuer_urls, int64_t now) {
  if (!ca_profile.is_ca) {
    return Status::InvalidArgument("profile " + ca_profile.name + " is not a CA profile");
  }
  VetOutcome vet = VetRequest(csr, ca_profile);
  if (!vet.ok()) return Status::InvalidArgument("CA request refused: " + vet.detail);
  ASSIGN_OR_RETURN(Bytes serial, RandomSerial());
  CertificateSpec spec;
  spec.profile = &ca_profile;
  spec.values = ValuesOf(subject);
  spec.subject_key = vet.public_key.get();
  spec.serial = serial;
  spec.now = now;
  spec.issuer_cert = issuer_cert;
  spec.issuer_key = issuer_key;
  spec.crl_url = issuer_urls.crl_url;
  spec.ocsp_url = issuer_urls.ocsp_url;
  return BuildCertificate(spec);
}

Status WriteCaDir(Env* env, const std::string& dir, X509* cert, EVP_PKEY* key,
                  const std::vector<X509*>& issuers) {
  RETURN_IF_ERROR(env->CreateDirs(dir));
  ASSIGN_OR_RETURN(std::string pem, CertificatePem(cert));
  std::string chain = pem;
  for (X509* c : issuers) {
    ASSIGN_OR_RETURN(std::string p, CertificatePem(c));
    chain += p;
  }
  if (key != nullptr) RETURN_IF_ERROR(SavePrivateKeyPem(env, dir + "/ca.key", key));
  RETURN_IF_ERROR(env->WriteFileAtomic(dir + "/ca.pem", pem, 0644));
  return env->WriteFileAtomic(dir + "/chain.pem", chain, 0644);
}

namespace {

Result<X509Ptr> IssueTlsCertificate(const std::string& name, bool server, const std::string& organization,
                                    EVP_PKEY* subject_key, X509* issuer_cert, EVP_PKEY* issuer_key,
                                    int64_t now) {
  ASSIGN_OR_RETURN(Profile profile, BuiltinProfile(server ? "tls-server" : "tls-client"));
  VetOutcome vet = VetDeviceSerial(name, profile);
  if (!vet.ok()) return Status::InvalidArgument("TLS identity name: " + vet.detail);
  ASSIGN_OR_RETURN(Bytes serial, RandomSerial());
  CertificateSpec spec;
  spec.profile = &profile;
  spec.values = {{"organization", organization}, {"device_serial", name}};
  spec.subject_key = subject_key;
  spec.serial = serial;
  spec.now = now;
  spec.issuer_cert = issuer_cert;
  spec.issuer_key = issuer_key;
  if (server) {
    spec.extra_dns = {"localhost", name};
    spec.extra_ips = {"127.0.0.1"};
  }
  return BuildCertificate(spec);
}

}  // namespace

Result<KeyAndCertificate> IssueTlsIdentity(const std::string& name, bool server,
                                           const std::string& organization, X509* issuer_cert,
                                           EVP_PKEY* issuer_key, int64_t now) {
  ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateKey(KeyType::kP256));
  return IssueTlsIdentity(name, server, organization, issuer_cert, issuer_key, now, std::move(key));
}

Result<KeyAndCertificate> IssueTlsIdentity(const std::string& name, bool server,
                                           const std::string& organization, X509* issuer_cert,
                                           EVP_PKEY* issuer_key, int64_t now, EvpPkeyPtr key) {
  ASSIGN_OR_RETURN(X509Ptr cert, IssueTlsCertificate(name, server, organization, key.get(),
                                                     issuer_cert, issuer_key, now));
  return KeyAndCertificate{std::move(key), std::move(cert)};
}

Result<X509ReqPtr> CreateTlsRequest(EVP_PKEY* key, const std::string& name) {
  ASSIGN_OR_RETURN(Profile profile, BuiltinProfile("tls-client"));
  X509ReqPtr req(X509_REQ_new());
  X509_NAME* subject = req ? X509_REQ_get_subject_name(req.get()) : nullptr;
  if (subject == nullptr ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(name.data()),
                                 static_cast<int>(name.size()), -1, 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1 ||
      X509_REQ_sign(req.get(), key, DigestFor(profile, key)) <= 0) {
    return OpenSslError("TLS request for " + name);
  }
  return req;
}

Result<X509Ptr> IssueTlsIdentityFromRequest(std::string_view csr, const std::string& name,
                                            bool server, const std::string& organization,
                                            X509* issuer_cert, EVP_PKEY* issuer_key, int64_t now) {
  ASSIGN_OR_RETURN(Profile profile, BuiltinProfile(server ? "tls-server" : "tls-client"));
  VetOutcome vet = VetRequest(csr, profile);  // proof of possession, key type
  if (!vet.ok()) return Status::InvalidArgument("TLS request refused: " + vet.detail);
  return IssueTlsCertificate(name, server, organization, vet.public_key.get(), issuer_cert,
                             issuer_key, now);
}

}  // namespace mirrorca::ca
