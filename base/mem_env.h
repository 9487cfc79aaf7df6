// MemEnv: an Env whose files live in memory and whose clock is set by the
// test. Use it for deterministic tests of code that reads keys or timestamps.
//
// Thread-safety: safe for concurrent use (one mutex).
#ifndef MIRRORCA_BASE_MEM_ENV_H_
#define MIRRORCA_BASE_MEM_ENV_H_

#include <map>
#include <mutex>
#include <string>

#include "base/env.h"

namespace mirrorca {

class MemEnv final : public Env {
 public:
  explicit MemEnv(int64_t now_micros = 1'700'000'000'000'000) : now_micros_(now_micros) {}

  // SetNowMicros sets the simulated wall clock (a jump: the elapsed clock
  // does not move); AdvanceMicros lets time pass (both clocks move).
  void SetNowMicros(int64_t t);
  void AdvanceMicros(int64_t delta);

  int64_t NowMicros() override;
  int64_t ElapsedMicros() override;
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  Status WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode) override;
  bool FileExists(const std::string& path) override;
  Result<uint32_t> FileMode(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;

 private:
  struct File {
    std::string data;
    uint32_t mode;
  };
  std::mutex mu_;
  int64_t now_micros_;                    // guarded by mu_
  int64_t elapsed_micros_ = 0;
  std::map<std::string, File> files_;     // guarded by mu_
  std::map<std::string, bool> dirs_;      // guarded by mu_
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_MEM_ENV_H_
