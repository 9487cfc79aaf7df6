// OcspReplica: an OCSP responder that runs beside HQ as its own process
// (`mirrorca ocsp serve`), so that several can answer a fleet while
// `hq serve` owns the store. It opens HQ's store as a RocksDB secondary
// instance: it never writes, it reads the certificate-status projection
// `hq serve` keeps, and Follow (every second) catches up with HQ's writes —
// a revocation reaches its answers within seconds — drops pre-signed
// answers when the projection moved, and picks up a renewed delegated
// responder certificate (HQ renews it; DIR/ocsp-responder.{pem,key}).
//
// Thread-safety: Handle may run concurrently with itself and with Follow;
// Follow calls must be serialized.
#ifndef MIRRORCA_VALIDATION_OCSP_REPLICA_H_
#define MIRRORCA_VALIDATION_OCSP_REPLICA_H_

#include <memory>
#include <string>
#include <vector>

#include "base/env.h"
#include "engine/cert_status.h"
#include "log/store.h"
#include "net/http_server.h"
#include "validation/ocsp_responder.h"

namespace mirrorca::validation {

struct ReplicaIssuer {
  std::string name;    // as in HQ's VA
  std::string ca_dir;  // HQ's mirror of the CA: ca.pem, ocsp-responder.pem/.key
  bool unseen_unknown = false;  // as VaIssuer
};

class OcspReplica {
 public:
  // `store_path` is HQ's store; `secondary_dir` a directory of this
  // process's own (RocksDB keeps its info log there).
  static Result<std::unique_ptr<OcspReplica>> Open(const std::string& store_path,
                                                   const std::string& secondary_dir,
                                                   std::vector<ReplicaIssuer> issuers,
                                                   OcspOptions options, Env* env = nullptr);
  ~OcspReplica();

  // Follow catches up with HQ; returns true when the projection moved.
  Result<bool> Follow();
  net::HttpResponse Handle(const net::HttpRequest& request);
  OcspResponder& responder() { return *ocsp_; }
  // WarmPresigned: PresignedStore::WarmUp of HQ's answers (no lock).
  Result<PresignedStore::WarmUpResult> WarmPresigned(const std::atomic<bool>& stop) { return presigned_->WarmUp(stop); }

 private:
  OcspReplica() = default;
  Status ReloadResponders();

  Env* env_ = nullptr;
  std::vector<ReplicaIssuer> issuers_;
  std::vector<std::string> responder_pems_;  // as last loaded, per issuer
  std::unique_ptr<log::Store> store_;
  std::unique_ptr<engine::CertStatus> status_;
  std::unique_ptr<OcspResponder> ocsp_;
  std::unique_ptr<PresignedStore> presigned_;
  std::string positions_;
};

}  // namespace mirrorca::validation

#endif  // MIRRORCA_VALIDATION_OCSP_REPLICA_H_
