#include "validation/ocsp_replica.h"

#include "base/status_macros.h"
#include "ca/certificate.h"
#include "ca/keys.h"
#include "crypto/key_store.h"
#include "validation/ocsp_http.h"

namespace mirrorca::validation {
namespace {

constexpr int64_t kMicros = 1000000;

struct Loaded {
  std::string pem;
  ca::X509Ptr cert;
  ca::EvpPkeyPtr key;
};

Result<Loaded> LoadResponder(Env* env, const std::string& ca_dir) {
  Loaded l;
  Result<std::string> pem = env->ReadFile(ca_dir + "/ocsp-responder.pem", 1 << 20);
  if (!pem.ok()) {
    return Status::FailedPrecondition("no OCSP responder certificate in " + ca_dir +
                                      " yet: `mirrorca hq serve` issues it");
  }
  l.pem = std::move(*pem);
  ASSIGN_OR_RETURN(l.cert, ca::ParseCertificate(l.pem));
  ASSIGN_OR_RETURN(l.key, crypto::OpenKeyAt(env, ca_dir + "/ocsp-responder.key"));
  return l;
}

}  // namespace

OcspReplica::~OcspReplica() = default;

Result<std::unique_ptr<OcspReplica>> OcspReplica::Open(const std::string& store_path,
                                                       const std::string& secondary_dir,
                                                       std::vector<ReplicaIssuer> issuers,
                                                       OcspOptions options, Env* env) {
  std::unique_ptr<OcspReplica> r(new OcspReplica());
  r->env_ = env != nullptr ? env : Env::Default();
  RETURN_IF_ERROR(r->env_->CreateDirs(secondary_dir));
  log::StoreOptions so;
  so.secondary_dir = secondary_dir;
  so.block_cache_bytes = 64 << 20;
  so.point_lookup_cache_bytes = options.store_cache_bytes;
  ASSIGN_OR_RETURN(r->store_, log::Store::Open(store_path, so));
  ASSIGN_OR_RETURN(r->status_, engine::CertStatus::OpenExisting(r->store_.get()));
  ASSIGN_OR_RETURN(r->positions_, r->status_->Positions());
  std::vector<OcspIssuer> ocsp;
  for (const ReplicaIssuer& is : issuers) {
    ASSIGN_OR_RETURN(std::string ca_pem, r->env_->ReadFile(is.ca_dir + "/ca.pem", 1 << 20));
    ASSIGN_OR_RETURN(ca::X509Ptr ca_cert, ca::ParseCertificate(ca_pem));
    ASSIGN_OR_RETURN(Loaded responder, LoadResponder(r->env_, is.ca_dir));
    r->responder_pems_.push_back(responder.pem);
    ocsp.push_back({is.name, std::move(ca_cert), std::move(responder.cert), std::move(responder.key),
                    is.unseen_unknown});
  }
  r->issuers_ = std::move(issuers);
  ASSIGN_OR_RETURN(r->ocsp_, OcspResponder::Create(std::move(ocsp), r->status_.get(), std::move(options)));
  // The answers hq serve signed ahead, read from its store: served at once.
  ASSIGN_OR_RETURN(r->presigned_, PresignedStore::Open(r->store_.get()));
  r->ocsp_->AttachPresigned(r->presigned_.get(), /*writable=*/false);
  return r;
}

Status OcspReplica::ReloadResponders() {
  for (size_t i = 0; i < issuers_.size(); ++i) {
    Result<Loaded> l = LoadResponder(env_, issuers_[i].ca_dir);
    // A file being replaced by HQ may be briefly unreadable: keep the old.
    if (!l.ok() || l->pem == responder_pems_[i]) continue;
    RETURN_IF_ERROR(ocsp_->ReplaceResponder(issuers_[i].name, std::move(l->cert), std::move(l->key)));
    responder_pems_[i] = std::move(l->pem);
  }
  return Status::Ok();
}

Result<bool> OcspReplica::Follow() {
  RETURN_IF_ERROR(store_->CatchUpWithPrimary());
  RETURN_IF_ERROR(ReloadResponders());
  ASSIGN_OR_RETURN(std::string positions, status_->Positions());
  if (positions == positions_) return false;
  positions_ = std::move(positions);
  ocsp_->Invalidate();
  return true;
}

net::HttpResponse OcspReplica::Handle(const net::HttpRequest& request) {
  if (auto r = HandleOcspHttp(*ocsp_, request, env_->NowMicros() / kMicros)) return std::move(*r);
  net::HttpResponse r;
  r.status = 404;
  r.body = "not found (this process answers OCSP only: POST /ocsp, GET /ocsp/<base64>)\n";
  return r;
}

}  // namespace mirrorca::validation
