#include "cli/ca_change.h"

#include <openssl/x509.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/key_transport.h"
#include "ca/keys.h"
#include "cli/ceremony_files.h"
#include "cli/config.h"
#include "cli/onboarding.h"
#include "crypto/key_store.h"
#include "crypto/sha256.h"

namespace mirrorca::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRequestFormat = "mirrorca-ca-request/1";
constexpr const char* kGrantFormat = "mirrorca-ca-grant/1";
constexpr const char* kMatterVidOid = "1.3.6.1.4.1.37244.2.1";

Result<std::string> CaIdHex(X509* cert) {
  ASSIGN_OR_RETURN(Bytes id, ca::CaId(cert));
  return HexEncode(id);
}

// MatterVendorId: the VID attribute of a Matter PAI's subject, else "".
std::string MatterVendorId(X509* cert) {
  ca::Asn1ObjectPtr oid(OBJ_txt2obj(kMatterVidOid, 1));
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int at = oid ? X509_NAME_get_index_by_OBJ(subject, oid.get(), -1) : -1;
  if (at < 0) return "";
  const ASN1_STRING* v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)), ASN1_STRING_length(v));
}

}  // namespace

Result<std::string> CaRequest(const CaRequestOptions& o) {
  Env* env = Env::Default();
  const std::string config = Absolute(o.factory_config);
  ASSIGN_OR_RETURN(FactoryConfig c, LoadFactoryConfig(config));
  const std::string dir = FolderOf(config);
  const std::string request = o.request.empty() ? dir + "/" + c.name + "-ca.req" : Absolute(o.request);
  if (env->FileExists(dir + "/transport.key")) {
    return Status::AlreadyExists(dir + "/transport.key exists: a request is pending (join its grant with "
                                 "`mirrorca pki ca-join`, or remove transport.key and transport.pem to start over)");
  }
  ASSIGN_OR_RETURN(ca::X509Ptr current, ca::LoadCertificate(env, c.ca_dir + "/ca.pem"));
  ASSIGN_OR_RETURN(std::string current_id, CaIdHex(current.get()));
  // The transport key: HQ seals the new CA key to it; CaJoin removes it.
  ASSIGN_OR_RETURN(ca::KeyAndCertificate transport,
                   ca::CreateTransportIdentity(c.name + " key transport", CeremonyNow()));
  RETURN_IF_ERROR(ca::SavePrivateKeyPem(env, dir + "/transport.key", transport.key.get()));
  RETURN_IF_ERROR(WritePem(env, dir + "/transport.pem", transport.cert.get()));
  ASSIGN_OR_RETURN(std::string transport_pem, ca::CertificatePem(transport.cert.get()));
  const json req = {{"format", kRequestFormat},
                    {"factory", c.name},
                    {"current_ca_id", current_id},
                    {"transport_certificate_pem", transport_pem}};
  RETURN_IF_ERROR(env->WriteFileAtomic(request, req.dump(2) + "\n", 0644));
  return request;
}

Result<CertifyCaResult> CertifyCa(const CertifyCaOptions& o) {
  Env* env = Env::Default();
  const std::string config_path = Absolute(o.hq_config);
  ASSIGN_OR_RETURN(HqConfig c, LoadHqConfig(config_path));
  ASSIGN_OR_RETURN(json req, ReadJson(env, o.request, kRequestFormat));
  ASSIGN_OR_RETURN(std::string name, Field(req, o.request, {"factory"}));
  ASSIGN_OR_RETURN(std::string current_id, Field(req, o.request, {"current_ca_id"}));
  ASSIGN_OR_RETURN(std::string transport_pem, Field(req, o.request, {"transport_certificate_pem"}));
  const FactoryRef* f = nullptr;
  for (const FactoryRef& r : c.factories) {
    if (r.name == name) f = &r;
  }
  if (f == nullptr) return Status::NotFound("no factory '" + name + "' in " + config_path);
  // The request must come from a factory that holds HQ's current CA for it:
  // a stale request (a grant not joined yet, a copy from elsewhere) is refused.
  ASSIGN_OR_RETURN(ca::X509Ptr current, ca::LoadCertificate(env, f->ca_mirror_dir + "/ca.pem"));
  ASSIGN_OR_RETURN(std::string held_id, CaIdHex(current.get()));
  if (current_id != held_id) {
    return Status::FailedPrecondition(o.request + " names issuing CA " + current_id.substr(0, 16) +
                                      "… as factory '" + name + "''s current one; HQ's is " + held_id.substr(0, 16) +
                                      "… (has the factory joined its last grant?)");
  }
  ASSIGN_OR_RETURN(ca::X509Ptr transport, ca::ParseCertificate(transport_pem));
  if (X509_verify(transport.get(), X509_get0_pubkey(transport.get())) != 1) {
    return Status::InvalidArgument(o.request + ": the transport certificate is not self-signed by its key");
  }

  // The new CA: the profile of the current one (a Matter PAI stays a PAI of
  // the same vendor), a subject of its own (generation N), the root's signature.
  const size_t generation = f->AllCas().size() + 1;
  CertifyCaResult out;
  out.factory = name;
  out.previous_ca_name = f->ca_name;
  out.ca_name = o.ca_name.empty() ? f->ca_name + "-g" + std::to_string(generation) : o.ca_name;
  const std::string vid = MatterVendorId(current.get());
  const std::string profile = vid.empty() ? "issuing-ca" : "matter-pai";
  const std::string public_url = c.validation ? c.validation->public_url : "http://127.0.0.1";
  ASSIGN_OR_RETURN(ca::X509Ptr root_cert, ca::LoadCertificate(env, c.root_dir + "/ca.pem"));
  if (X509_verify(current.get(), X509_get0_pubkey(root_cert.get())) != 1) {
    return Status::FailedPrecondition(f->ca_mirror_dir + "/ca.pem is not signed by the root of " + config_path);
  }
  ASSIGN_OR_RETURN(ca::EvpPkeyPtr root_key, crypto::OpenKeyAt(env, c.root_dir + "/ca.key"));
  ASSIGN_OR_RETURN(ca::KeyAndCertificate issuing,
                   CertifyFactoryCa({c.organization, name + " G" + std::to_string(generation), profile, vid, public_url},
                                    root_cert.get(), root_key.get()));
  ASSIGN_OR_RETURN(out.ca_id, CaIdHex(issuing.cert.get()));
  const std::string mirror = FolderOf(f->ca_mirror_dir) + "/ca-g" + std::to_string(generation);
  if (env->FileExists(mirror + "/ca.key") || env->FileExists(mirror + "/ca.pem")) {
    return Status::AlreadyExists(mirror + " already holds a CA");
  }
  ASSIGN_OR_RETURN(crypto::KeyStore hq_keys, crypto::StoreOfKeyAt(env, c.root_dir + "/ca.key"));
  RETURN_IF_ERROR(env->CreateDirs(mirror));
  auto forget_key = [&](const Status& s) {
    (void)crypto::RemoveKey(env, mirror + "/ca.key");
    std::error_code ec;
    fs::remove_all(mirror, ec);
    return s;
  };
  if (Status s = crypto::StoreKey(env, hq_keys, mirror + "/ca.key", issuing.key.get()); !s.ok()) return forget_key(s);
  if (Status s = ca::WriteCaDir(env, mirror, issuing.cert.get(), nullptr, {root_cert.get()}); !s.ok()) {
    return forget_key(s);
  }

  // hq.toml gains the CA; HQ's log records the factory with every CA it has had.
  const std::string block = "\n[[factory_ca]]                    # added by mirrorca pki certify-ca\n"
                            "factory = " + Quote(name) + "\n"
                            "ca_name = " + Quote(out.ca_name) + "     # replaces " + Quote(f->ca_name) +
                            " for new batches; both stay served\n"
                            "ca_mirror_dir = " + Quote(Rel(mirror, config_path)) + "\n";
  ASSIGN_OR_RETURN(std::string before, env->ReadFile(config_path, kMaxCeremonyFile));
  if (Status s = AppendChecked(env, config_path, block, LoadHqConfig); !s.ok()) return forget_key(s);
  auto restore = [&](const Status& s) {
    (void)env->WriteFileAtomic(config_path, before, 0644);
    return forget_key(s);
  };
  Result<HqRegistration> registered = RegisterAtHq(config_path, c.data_dir, f->log_origin);
  if (!registered.ok()) return restore(registered.status());
  out.registered_by_running_hq = registered->by_running_hq;

  ASSIGN_OR_RETURN(json ca_grant,
                   IssuingCaGrant(issuing, root_cert.get(), transport.get(), out.ca_name, profile, public_url));
  out.ca_key_fingerprint = ca_grant["key_fingerprint"].get<std::string>();
  const json grant = {{"format", kGrantFormat},
                      {"factory", name},
                      {"log_origin", f->log_origin},
                      {"previous_ca_id", held_id},
                      {"ca", ca_grant}};
  const std::string text = grant.dump(2) + "\n";
  RETURN_IF_ERROR(env->WriteFileAtomic(o.grant, text, 0600));
  out.grant_sha256 = HexEncode(crypto::Sha256(AsBytes(text)));
  return out;
}

Result<std::string> CaJoin(const CaJoinOptions& o) {
  Env* env = Env::Default();
  const std::string config = Absolute(o.factory_config);
  ASSIGN_OR_RETURN(FactoryConfig c, LoadFactoryConfig(config));
  const std::string dir = FolderOf(config);
  ASSIGN_OR_RETURN(json g, ReadJson(env, o.grant, kGrantFormat));
  ASSIGN_OR_RETURN(std::string name, Field(g, o.grant, {"factory"}));
  ASSIGN_OR_RETURN(std::string previous_id, Field(g, o.grant, {"previous_ca_id"}));
  if (name != c.name) return Status::InvalidArgument(o.grant + " is for factory '" + name + "', not '" + c.name + "'");
  ASSIGN_OR_RETURN(ca::X509Ptr current, ca::LoadCertificate(env, c.ca_dir + "/ca.pem"));
  ASSIGN_OR_RETURN(std::string current_id, CaIdHex(current.get()));
  if (previous_id != current_id) {
    return Status::FailedPrecondition(o.grant + " replaces issuing CA " + previous_id.substr(0, 16) +
                                      "…, but this factory's current one is " + current_id.substr(0, 16) + "…");
  }
  ASSIGN_OR_RETURN(OpenedCaGrant issuing, OpenCaGrant(env, g, o.grant, dir));
  // The same root as the CA it replaces: a grant from another HQ is refused.
  if (X509_verify(current.get(), X509_get0_pubkey(issuing.root.get())) != 1) {
    return Status::InvalidArgument(o.grant + ": its root did not certify this factory's current issuing CA");
  }
  const std::string target = dir + "/ca-g" + std::to_string(c.previous_cas.size() + 2);
  if (env->FileExists(target + "/ca.pem")) return Status::AlreadyExists(target + " already holds a CA");
  // The key goes where the current CA key is (its token, or a PEM file).
  ASSIGN_OR_RETURN(crypto::KeyStore keys, crypto::StoreOfKeyAt(env, c.ca_dir + "/ca.key"));
  RETURN_IF_ERROR(env->CreateDirs(target));
  RETURN_IF_ERROR(crypto::RemoveKey(env, target + "/ca.key"));  // left by a join that failed later
  RETURN_IF_ERROR(crypto::StoreKey(env, keys, target + "/ca.key", issuing.key.get()));
  RETURN_IF_ERROR(ca::WriteCaDir(env, target, issuing.cert.get(), nullptr, {issuing.root.get()}));
  RETURN_IF_ERROR(AppendChecked(env, config,
                                "\n[[issuing_ca]]                    # added by mirrorca pki ca-join: new batches\n"
                                "dir = " + Quote(Rel(target, config)) + "\n"
                                "crl_url = " + Quote(issuing.crl_url) + "\n"
                                "ocsp_url = " + Quote(issuing.ocsp_url) + "\n",
                                LoadFactoryConfig));
  // The transport key has done its one job.
  std::error_code ec;
  fs::remove(dir + "/transport.key", ec);
  fs::remove(dir + "/transport.pem", ec);
  return target;
}

}  // namespace mirrorca::cli
