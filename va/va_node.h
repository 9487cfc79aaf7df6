// VaNode: a validation authority on another machine (`mirrorca ocsp serve
// --config va.toml`). It holds no CA key and no log key, only its own OCSP
// responder key, made where it runs. It follows HQ over the sync channel as
// a mirror (replication/mirror_client.h): HQ's log and every factory's log,
// verified and checked against the trust table, in a store of its own; it
// projects certificate status from them locally (engine/cert_status.h, the
// same rules as HQ) and answers OCSP with the responder certificates HQ
// issued for its key — which it finds in HQ's log, where HQ records every
// certificate a CA key signs (certificateIssued, profile ocsp-responder):
// a CA whose certificate for this key is not (yet) in HQ's log is not
// answered for, and a renewed one is taken up when it arrives.
//
// Thread-safety: Handle may run concurrently with itself and with Follow;
// Follow calls must be serialized.
#ifndef MIRRORCA_VA_VA_NODE_H_
#define MIRRORCA_VA_VA_NODE_H_

#include <map>
#include <memory>
#include <string>

#include "base/env.h"
#include "base/result.h"
#include "ca/openssl_types.h"
#include "engine/cert_status.h"
#include "engine/log_authority.h"
#include "log/store.h"
#include "net/http_server.h"
#include "replication/channel.h"
#include "replication/mirror_client.h"
#include "validation/ocsp_responder.h"

namespace mirrorca::va {

struct VaNodeOptions {
  Env* env = nullptr;
  std::string name;           // this VA's name at HQ ([[va]] name)
  std::string data_dir;       // its store: the copies and the projection
  std::string hq_log_key;     // HQ's log key (C2SP verifier key), pinned
  std::string responder_key;  // path of its responder key (PEM 0600 or a key reference)
  bool unseen_unknown = false;  // OCSP "unknown" (not "revoked") for serials no log issued
  validation::OcspOptions ocsp;
};

struct FollowResult {
  uint64_t events_received = 0;
  uint64_t applied = 0;        // events projected
  size_t issuers = 0;          // CAs answered for
};

class VaNode {
 public:
  static Result<std::unique_ptr<VaNode>> Open(VaNodeOptions options);
  ~VaNode();

  // Follow runs one mirror session with HQ over `channel`, then projects
  // what arrived and takes up new responder certificates.
  Result<FollowResult> Follow(replication::FrameChannel& channel);
  // Refresh projects what is stored (at start, and after each session).
  Result<FollowResult> Refresh();
  net::HttpResponse Handle(const net::HttpRequest& request);

  size_t issuers() const;
  const std::optional<replication::Refused>& refused() const { return mirror_->refused(); }
  validation::OcspResponder& responder() { return *ocsp_; }
  // WarmPresigned: PresignedStore::WarmUp of its answers (no lock).
  Result<validation::PresignedStore::WarmUpResult> WarmPresigned(const std::atomic<bool>& stop) {
    return presigned_->WarmUp(stop);
  }

 private:
  struct Served {
    std::string responder_der;  // the certificate in use
    int64_t not_before = 0;
  };
  VaNode() = default;
  // TakeResponders scans HQ's log for responder certificates of this key
  // and serves (or renews) every CA one certifies.
  Status TakeResponders();

  VaNodeOptions options_;
  Env* env_ = nullptr;
  std::unique_ptr<log::Store> store_;
  std::unique_ptr<engine::LogAuthority> authority_;
  std::unique_ptr<replication::MirrorClient> mirror_;
  std::unique_ptr<engine::CertStatus> status_;
  std::unique_ptr<validation::OcspResponder> ocsp_;
  std::unique_ptr<validation::PresignedStore> presigned_;  // its own answers, signed ahead
  ca::EvpPkeyPtr responder_key_;
  uint64_t scanned_ = 0;                    // HQ seq scanned for responder certificates
  std::map<std::string, Served> served_;    // by caId (raw bytes)
  mutable std::mutex served_mu_;            // guards served_ for issuers()
};

}  // namespace mirrorca::va

#endif  // MIRRORCA_VA_VA_NODE_H_
