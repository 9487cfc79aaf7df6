#include "engine/cosigner.h"

#include "base/status_macros.h"
#include "engine/delivery_log.h"
#include "log/event_codec.h"
#include "log/local_log.h"

namespace mirrorca::engine {
namespace {

using Kind = log::schema::Event::Kind;

Result<std::optional<log::LogVerifier>> KeySetIn(log::schema::Event::Reader e, const std::string& hq_origin) {
  if (e.getKind().which() != Kind::COSIGNER_KEY_SET) return std::optional<log::LogVerifier>();
  Result<log::LogVerifier> key = log::LogVerifier::Parse(e.getKind().getCosignerKeySet().getKey().cStr());
  if (!key.ok()) return key.status().WithContext("cosignerKeySet");
  if (key->name() != CosignerName(hq_origin)) {
    return Status::InvalidArgument("cosignerKeySet names a key of '" + key->name() + "', not '" +
                                   CosignerName(hq_origin) + "'");
  }
  return std::optional<log::LogVerifier>(std::move(*key));
}

}  // namespace

std::string CosignerKeyPath(const std::string& hq_data_dir) { return hq_data_dir + "/cosigner_key.pem"; }
std::string CosignerName(const std::string& hq_origin) { return hq_origin + "/cosigner"; }

Result<std::vector<CosignerEpoch>> CosignersOfHq(log::EventLog& hq_log) {
  std::vector<CosignerEpoch> out;
  RETURN_IF_ERROR(hq_log.ForEach(0, hq_log.Size(), [&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    ASSIGN_OR_RETURN(std::optional<log::LogVerifier> key, KeySetIn(e.event(), hq_log.origin()));
    if (key) out.push_back({seq, std::move(*key)});
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<CosignerEpoch>> CosignersOfDelivery(log::EventLog& delivery_copy, const log::LogVerifier& hq) {
  std::vector<CosignerEpoch> out;
  RETURN_IF_ERROR(delivery_copy.ForEach(0, delivery_copy.Size(), [&](uint64_t, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent d, log::ParsedEvent::Parse(AsBytes(bytes)));
    ASSIGN_OR_RETURN(RelayedEvent r, Unwrap(d.event(), hq));
    ASSIGN_OR_RETURN(std::optional<log::LogVerifier> key, KeySetIn(r.event.event(), hq.name()));
    if (key) out.push_back({r.hq_seq, std::move(*key)});
    return Status::Ok();
  }));
  return out;
}

const log::LogVerifier& CosignerAt(const std::vector<CosignerEpoch>& epochs, uint64_t hq_seq,
                                   const log::LogVerifier& hq) {
  const log::LogVerifier* in_force = &hq;
  for (const CosignerEpoch& e : epochs) {
    if (e.from_hq_seq < hq_seq) in_force = &e.key;
  }
  return *in_force;
}

const log::LogVerifier& CurrentCosigner(const std::vector<CosignerEpoch>& epochs, const log::LogVerifier& hq) {
  return epochs.empty() ? hq : epochs.back().key;
}

Result<log::LogSigner> OpenCosigner(Env* env, const std::string& hq_data_dir, const log::LogSigner& hq_signer) {
  const std::string path = CosignerKeyPath(hq_data_dir);
  if (env->FileExists(path + ".next")) {
    return Status::FailedPrecondition("an interrupted cosigner key change (" + path +
                                      ".next): run `mirrorca hq rotate-cosigner` again");
  }
  if (!env->FileExists(path)) return hq_signer;
  return log::LogSigner::Open(env, path, CosignerName(hq_signer.name()));
}

Result<log::LogVerifier> SetCosigner(Env* env, const std::string& hq_data_dir, log::EventLog& hq_log,
                                     const std::string& reason, std::optional<crypto::KeyStore> keys) {
  const std::string path = CosignerKeyPath(hq_data_dir);
  const std::string next_path = path + ".next";
  if (!keys) {
    ASSIGN_OR_RETURN(keys, crypto::StoreOfKeyAt(env, env->FileExists(path) ? path : log::LogKeyPath(hq_data_dir)));
  }
  // The key being replaced must be readable before anything changes.
  if (env->FileExists(path)) RETURN_IF_ERROR(crypto::KeyRefAt(env, path).status());
  RETURN_IF_ERROR(crypto::RemoveKey(env, next_path));  // a change interrupted before (its event, if any, is superseded)
  ASSIGN_OR_RETURN(log::LogSigner next, log::LogSigner::Create(env, *keys, next_path, CosignerName(hq_log.origin())));
  log::EventDraft d;
  auto set = d.event().getKind().initCosignerKeySet();
  set.setKey(next.verifier().VerifierKey());
  set.setReason(reason);
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  if (Result<log::AppendResult> r = hq_log.Append(std::move(drafts)); !r.ok()) {
    (void)crypto::RemoveKey(env, next_path);
    return r.status();
  }
  // Durable: the new key takes the old one's place, which is retired. (A
  // crash before this rename leaves `.next`, and OpenCosigner refuses to
  // start until the change is run again.)
  RETURN_IF_ERROR(crypto::PromoteKey(env, next_path, path));
  return next.verifier();
}

}  // namespace mirrorca::engine
