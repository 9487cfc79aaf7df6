// BatchSecrets: the per-batch shared secrets of CMP MAC protection, one
// file per batch — DIR/<batch>.secret, mode 0600, the secret on its first
// line (at most 1 KiB). Read at each use, so an operator adds or removes a
// line's secret without a restart; a file anyone but its owner can read is
// refused (and said so in the log, without its content), as every key file is.
//
// Thread-safety: Read is safe from any thread.
#ifndef MIRRORCA_ENROLLMENT_BATCH_SECRETS_H_
#define MIRRORCA_ENROLLMENT_BATCH_SECRETS_H_

#include <optional>
#include <string>

#include "base/result.h"

namespace mirrorca::enrollment {

class BatchSecrets {
 public:
  explicit BatchSecrets(std::string dir) : dir_(std::move(dir)) {}

  // Read returns the batch's secret; nullopt when it has none (no file);
  // an error for a file that is not private, too large, or empty, or for a
  // batch id that could name another file.
  Result<std::optional<std::string>> Read(const std::string& batch) const;

 private:
  const std::string dir_;
};

}  // namespace mirrorca::enrollment

#endif  // MIRRORCA_ENROLLMENT_BATCH_SECRETS_H_
