#include "va/va_node.h"

#include <openssl/x509.h>

#include <ctime>

#include "base/encoding.h"
#include "base/status_macros.h"
#include "ca/certificate.h"
#include "crypto/key_store.h"
#include "crypto/spki.h"
#include "log/event_codec.h"
#include "log/local_log.h"
#include "validation/ocsp_http.h"

namespace mirrorca::va {
namespace {

constexpr int64_t kMicros = 1000000;

int64_t NotBefore(X509* cert) {
  std::tm t{};
  return ASN1_TIME_to_tm(X509_get0_notBefore(cert), &t) == 1 ? static_cast<int64_t>(timegm(&t)) : 0;
}

int64_t NotAfter(X509* cert) {
  std::tm t{};
  return ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) == 1 ? static_cast<int64_t>(timegm(&t)) : 0;
}

}  // namespace

VaNode::~VaNode() = default;

Result<std::unique_ptr<VaNode>> VaNode::Open(VaNodeOptions options) {
  std::unique_ptr<VaNode> n(new VaNode());
  n->env_ = options.env != nullptr ? options.env : Env::Default();
  ASSIGN_OR_RETURN(log::LogVerifier hq, log::LogVerifier::Parse(options.hq_log_key));
  ASSIGN_OR_RETURN(n->responder_key_, crypto::OpenKeyAt(n->env_, options.responder_key));
  RETURN_IF_ERROR(n->env_->CreateDirs(options.data_dir));
  log::StoreOptions so;
  so.create_if_missing = true;
  so.block_cache_bytes = 64 << 20;
  so.point_lookup_cache_bytes = options.ocsp.store_cache_bytes;
  ASSIGN_OR_RETURN(n->store_, log::Store::Open(log::StorePath(options.data_dir), so));
  n->authority_ = std::make_unique<engine::LogAuthority>(hq.name());
  ASSIGN_OR_RETURN(n->mirror_, replication::MirrorClient::Open(n->store_.get(), hq, n->authority_.get(), options.name));
  ASSIGN_OR_RETURN(n->status_, engine::CertStatus::Open(n->store_.get()));
  ASSIGN_OR_RETURN(n->ocsp_, validation::OcspResponder::Create({}, n->status_.get(), options.ocsp));
  ASSIGN_OR_RETURN(n->presigned_, validation::PresignedStore::Open(n->store_.get()));
  n->ocsp_->AttachPresigned(n->presigned_.get(), /*writable=*/true);
  n->options_ = std::move(options);
  RETURN_IF_ERROR(n->Refresh().status());
  return n;
}

Result<FollowResult> VaNode::Follow(replication::FrameChannel& channel) {
  ASSIGN_OR_RETURN(replication::MirrorStats stats, mirror_->Session(channel));
  ASSIGN_OR_RETURN(FollowResult r, Refresh());
  r.events_received = stats.events_received;
  return r;
}

Result<FollowResult> VaNode::Refresh() {
  FollowResult r;
  RETURN_IF_ERROR(authority_->CatchUp(mirror_->hq_log()));
  // HQ's log first (the authority has learned it), then every factory's.
  ASSIGN_OR_RETURN(uint64_t applied, status_->CatchUp(mirror_->hq_log(), *authority_));
  r.applied += applied;
  for (log::EventLog* copy : mirror_->Copies()) {
    ASSIGN_OR_RETURN(applied, status_->CatchUp(*copy, *authority_));
    r.applied += applied;
  }
  RETURN_IF_ERROR(TakeResponders());
  if (r.applied > 0) ocsp_->Invalidate();
  // Its own answers, signed ahead with its own key: every changed status
  // at once, new issuances and due refreshes for a bounded time per follow.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  const int64_t now = env_->NowMicros() / kMicros;
  RETURN_IF_ERROR(ocsp_->SignPending(/*urgent=*/true, std::chrono::steady_clock::time_point::max(), now, 2).status());
  RETURN_IF_ERROR(ocsp_->SignPending(/*urgent=*/false, deadline, now, 2).status());
  RETURN_IF_ERROR(ocsp_->RefreshDue(now, 4096, 2).status());
  r.issuers = issuers();
  return r;
}

Status VaNode::TakeResponders() {
  log::EventLog& hq = mirror_->hq_log();
  const uint64_t end = hq.Size();
  ASSIGN_OR_RETURN(Bytes own, crypto::KeySpkiSha256(responder_key_.get()));
  // The newest certificate for this key per CA, among those HQ's log records.
  std::map<std::string, ca::X509Ptr> found;
  RETURN_IF_ERROR(hq.ForEach(scanned_, end, [&](uint64_t, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    auto kind = e.event().getKind();
    if (!kind.isCertificateIssued()) return Status::Ok();
    auto c = kind.getCertificateIssued();
    if (std::string_view(c.getProfile().cStr()) != "ocsp-responder") return Status::Ok();
    auto der = c.getCertificate();
    Result<ca::X509Ptr> cert = ca::ParseCertificate(std::string_view(reinterpret_cast<const char*>(der.begin()), der.size()));
    if (!cert.ok()) return Status::Ok();
    Result<Bytes> spki = crypto::SpkiSha256(cert->get());
    if (!spki.ok() || *spki != own) return Status::Ok();
    const std::string ca_id(reinterpret_cast<const char*>(c.getCaId().begin()), c.getCaId().size());
    auto held = found.find(ca_id);
    if (held == found.end() || NotBefore(cert->get()) >= NotBefore(held->second.get())) found[ca_id] = std::move(*cert);
    return Status::Ok();
  }));
  scanned_ = end;
  const int64_t now = env_->NowMicros() / kMicros;
  for (auto& [ca_id, cert] : found) {
    // The CA must be one HQ's log registered, and must have signed it.
    std::optional<std::string> origin = authority_->FactoryOfCa(AsBytes(ca_id));
    if (!origin) continue;
    std::optional<engine::FactoryScope> f = authority_->Factory(*origin);
    if (!f) continue;
    ca::X509Ptr ca_cert;
    for (const Bytes& der : f->ca_certificates) {
      Result<Bytes> id = engine::CaIdOfCertificate(der);
      if (id.ok() && std::string(id->begin(), id->end()) == ca_id) {
        Result<ca::X509Ptr> parsed = ca::ParseCertificate(std::string_view(reinterpret_cast<const char*>(der.data()), der.size()));
        if (parsed.ok()) ca_cert = std::move(*parsed);
      }
    }
    if (!ca_cert || X509_check_issued(ca_cert.get(), cert.get()) != X509_V_OK ||
        X509_verify(cert.get(), X509_get0_pubkey(ca_cert.get())) != 1 || NotAfter(cert.get()) <= now) {
      continue;
    }
    ASSIGN_OR_RETURN(std::string der, ca::CertificateDer(cert.get()));
    const int64_t nb = NotBefore(cert.get());
    const std::string name = f->name + "/" + HexEncode(AsBytes(ca_id)).substr(0, 16);
    std::lock_guard lock(served_mu_);
    auto s = served_.find(ca_id);
    if (s != served_.end() && (s->second.responder_der == der || s->second.not_before > nb)) continue;
    ca::EvpPkeyPtr key = ca::UpRef(responder_key_.get());
    if (s == served_.end()) {
      RETURN_IF_ERROR(ocsp_->AddIssuer({name, std::move(ca_cert), std::move(cert), std::move(key),
                                        options_.unseen_unknown}));
    } else {
      RETURN_IF_ERROR(ocsp_->ReplaceResponder(name, std::move(cert), std::move(key)));
    }
    served_[ca_id] = {std::move(der), nb};
  }
  return Status::Ok();
}

size_t VaNode::issuers() const {
  std::lock_guard lock(served_mu_);
  return served_.size();
}

net::HttpResponse VaNode::Handle(const net::HttpRequest& request) {
  if (auto r = validation::HandleOcspHttp(*ocsp_, request, env_->NowMicros() / kMicros)) return std::move(*r);
  net::HttpResponse r;
  r.status = 404;
  r.body = "not found (this validation authority answers OCSP only: POST /ocsp, GET /ocsp/<base64>)\n";
  return r;
}

}  // namespace mirrorca::va
