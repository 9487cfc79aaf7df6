// FaultInjectionEnv: wraps another Env and makes its file operations fail or
// return corrupted bytes on demand, to prove that callers turn I/O failures
// into clear Status values and change nothing.
//
// Thread-safety: safe for concurrent use; the fault switches are atomics.
#ifndef MIRRORCA_BASE_FAULT_INJECTION_ENV_H_
#define MIRRORCA_BASE_FAULT_INJECTION_ENV_H_

#include <atomic>

#include "base/env.h"

namespace mirrorca {

class FaultInjectionEnv final : public Env {
 public:
  // `base` must outlive this object.
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // FailWritesAfter lets `n` more writes succeed, then fails every later one
  // with IOError. Negative disables the fault.
  void FailWritesAfter(int n) { writes_left_.store(n); }
  // SetFailReads makes every ReadFile fail with IOError.
  void SetFailReads(bool fail) { fail_reads_.store(fail); }
  // SetTruncateReads makes ReadFile return only the first half of the file.
  void SetTruncateReads(bool truncate) { truncate_reads_.store(truncate); }
  // SetFlipReadByte makes ReadFile flip one bit of the byte at `offset` (-1: off).
  void SetFlipReadByte(long offset) { flip_offset_.store(offset); }

  int64_t NowMicros() override { return base_->NowMicros(); }
  int64_t ElapsedMicros() override { return base_->ElapsedMicros(); }
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  Status WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode) override;
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint32_t> FileMode(const std::string& path) override { return base_->FileMode(path); }
  Status CreateDirs(const std::string& path) override;

 private:
  bool ConsumeWrite();

  Env* const base_;
  std::atomic<int> writes_left_{-1};
  std::atomic<bool> fail_reads_{false};
  std::atomic<bool> truncate_reads_{false};
  std::atomic<long> flip_offset_{-1};
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_FAULT_INJECTION_ENV_H_
