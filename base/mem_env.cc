#include "base/mem_env.h"

namespace mirrorca {

void MemEnv::SetNowMicros(int64_t t) {
  std::lock_guard lock(mu_);
  now_micros_ = t;
}

void MemEnv::AdvanceMicros(int64_t delta) {
  std::lock_guard lock(mu_);
  now_micros_ += delta;
  elapsed_micros_ += delta;
}

int64_t MemEnv::ElapsedMicros() {
  std::lock_guard lock(mu_);
  return elapsed_micros_;
}

int64_t MemEnv::NowMicros() {
  std::lock_guard lock(mu_);
  return now_micros_;
}

Result<std::string> MemEnv::ReadFile(const std::string& path, size_t max_bytes) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound("open " + path + ": no such file");
  if (it->second.data.size() > max_bytes) {
    return Status::ResourceExhausted("file " + path + " too large");
  }
  return it->second.data;
}

Status MemEnv::WriteFileAtomic(const std::string& path, std::string_view data, uint32_t mode) {
  std::lock_guard lock(mu_);
  files_[path] = File{std::string(data), mode};
  return Status::Ok();
}

bool MemEnv::FileExists(const std::string& path) {
  std::lock_guard lock(mu_);
  return files_.count(path) > 0 || dirs_.count(path) > 0;
}

Result<uint32_t> MemEnv::FileMode(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound("stat " + path + ": no such file");
  return it->second.mode;
}

Status MemEnv::CreateDirs(const std::string& path) {
  std::lock_guard lock(mu_);
  dirs_[path] = true;
  return Status::Ok();
}

}  // namespace mirrorca
