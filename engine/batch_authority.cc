#include "engine/batch_authority.h"

#include "base/status_macros.h"

namespace mirrorca::engine {

Result<uint64_t> AuthorizeBatch(log::EventLog& hq_log, LogAuthority& authority, const BatchTerms& t) {
  if (t.batch_id.empty() || t.batch_id.size() > 64) {
    return Status::InvalidArgument("batch id must have 1 to 64 characters");
  }
  if (t.quota == 0) return Status::InvalidArgument("quota must be positive");
  if (t.not_after <= t.not_before) {
    return Status::InvalidArgument("batch validity: notAfter must be after notBefore");
  }
  if (t.factory_log_id.empty()) return Status::InvalidArgument("batch needs a factory log id");
  if (t.profile.empty()) return Status::InvalidArgument("batch needs a profile");
  log::EventDraft d;
  auto b = d.event().getKind().initBatchAuthorized();
  b.setBatchId(t.batch_id);
  b.setProfile(t.profile);
  b.setProduct(t.product);
  b.setVendorId(t.vendor_id);
  b.setProductId(t.product_id);
  b.setQuota(t.quota);
  b.setNotBefore(t.not_before);
  b.setNotAfter(t.not_after);
  b.setFactoryLogId(t.factory_log_id);
  auto ras = b.initAllowedRas(static_cast<unsigned>(t.allowed_ras.size()));
  for (size_t i = 0; i < t.allowed_ras.size(); ++i) ras.set(static_cast<unsigned>(i), t.allowed_ras[i]);
  auto re = b.initAllowReissue(static_cast<unsigned>(t.allow_reissue.size()));
  unsigned i = 0;
  for (const std::string& d2 : t.allow_reissue) re.set(i++, d2);
  b.setCaId(kj::ArrayPtr<const kj::byte>(t.ca_id.data(), t.ca_id.size()));
  RETURN_IF_ERROR(authority.CatchUp(hq_log));
  if (std::optional<AuthorityViolation> v = authority.Check(hq_log.origin(), d.event().asReader())) {
    return Status::InvalidArgument("batch '" + t.batch_id + "' cannot be authorized: " + v->ToString());
  }
  if (!authority.Active(t.factory_log_id)) {  // the table keeps removed factories (their past stays)
    return Status::FailedPrecondition("batch '" + t.batch_id + "' cannot be authorized: factory log '" +
                                      t.factory_log_id + "' was removed at HQ");
  }
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  ASSIGN_OR_RETURN(log::AppendResult r, hq_log.Append(std::move(drafts)));
  RETURN_IF_ERROR(authority.CatchUp(hq_log));
  return r.first_seq;
}

Result<uint64_t> DeliverLog(log::EventLog& source, log::EventLog& copy) {
  if (source.origin() != copy.origin()) {
    return Status::InvalidArgument("cannot deliver log '" + source.origin() + "' into '" +
                                   copy.origin() + "'");
  }
  const uint64_t from = copy.Size();
  const uint64_t to = source.Size();
  if (from > to) {
    return Status::FailedPrecondition("the copy holds more events than the source");
  }
  constexpr uint64_t kChunk = 4096;
  for (uint64_t at = from; at < to; at += kChunk) {
    std::vector<std::string> events;
    RETURN_IF_ERROR(source.ForEach(at, std::min(to, at + kChunk),
                                   [&](uint64_t, std::string_view b) {
                                     events.emplace_back(b);
                                     return Status::Ok();
                                   }));
    RETURN_IF_ERROR(copy.AppendVerified(std::move(events)).status());
  }
  Result<std::string> cp = source.LatestCheckpoint();
  if (cp.ok()) RETURN_IF_ERROR(copy.StoreCheckpoint(*cp));
  return to - from;
}

}  // namespace mirrorca::engine
