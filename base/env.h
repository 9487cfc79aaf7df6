// Env: the seam between mirrorca and the operating system for the wall clock
// and for small files (keys, configs, exported proofs). Production code gets
// the POSIX Env; tests inject MemEnv (in-memory files, settable clock) or
// FaultInjectionEnv (fails or corrupts I/O on demand) so that clock-dependent
// and failure paths are testable without sleeping or breaking a real disk.
//
// RocksDB keeps its own rocksdb::Env; this seam covers everything else.
//
// Thread-safety: every Env implementation is safe for concurrent use.
#ifndef MIRRORCA_BASE_ENV_H_
#define MIRRORCA_BASE_ENV_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace mirrorca {

class Env {
 public:
  virtual ~Env() = default;

  // Default returns the process-wide POSIX Env. It is never destroyed.
  static Env* Default();

  // NowMicros returns wall-clock time as microseconds since the Unix epoch (UTC).
  virtual int64_t NowMicros() = 0;
  // ElapsedMicros returns a clock that only moves forward at the rate of
  // real time, whatever the wall clock does (CLOCK_BOOTTIME: it counts a
  // suspend too); only differences between two readings mean something.
  virtual int64_t ElapsedMicros() = 0;

  // ReadFile returns the whole content of `path`; NotFound if it does not
  // exist, IOError on any other failure. Files above `max_bytes` are refused
  // with ResourceExhausted so that a hostile path cannot exhaust memory.
  virtual Result<std::string> ReadFile(const std::string& path,
                                       size_t max_bytes = 64 << 20) = 0;

  // WriteFileAtomic replaces `path` with `data`: written to a temporary file
  // created with permission bits `mode`, fsynced, renamed over `path`, and the
  // directory fsynced. A reader sees the old or the new content, never a mix.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data,
                                 uint32_t mode) = 0;

  // FileExists reports whether `path` names an existing file or directory.
  virtual bool FileExists(const std::string& path) = 0;

  // FileMode returns the permission bits of `path` (e.g. 0600).
  virtual Result<uint32_t> FileMode(const std::string& path) = 0;

  // CreateDirs creates `path` and its missing parents with mode 0700.
  virtual Status CreateDirs(const std::string& path) = 0;
};

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_ENV_H_
