#include "base/fault_injection_env.h"

namespace mirrorca {

bool FaultInjectionEnv::ConsumeWrite() {
  int left = writes_left_.load();
  while (left >= 0) {
    if (left == 0) return false;
    if (writes_left_.compare_exchange_weak(left, left - 1)) return true;
  }
  return true;
}

Result<std::string> FaultInjectionEnv::ReadFile(const std::string& path, size_t max_bytes) {
  if (fail_reads_.load()) return Status::IOError("injected read failure: " + path);
  Result<std::string> data = base_->ReadFile(path, max_bytes);
  if (!data.ok()) return data;
  if (truncate_reads_.load()) data->resize(data->size() / 2);
  long flip = flip_offset_.load();
  if (flip >= 0 && static_cast<size_t>(flip) < data->size()) {
    (*data)[static_cast<size_t>(flip)] ^= 0x01;
  }
  return data;
}

Status FaultInjectionEnv::WriteFileAtomic(const std::string& path, std::string_view data,
                                          uint32_t mode) {
  if (!ConsumeWrite()) return Status::IOError("injected write failure: " + path);
  return base_->WriteFileAtomic(path, data, mode);
}

Status FaultInjectionEnv::CreateDirs(const std::string& path) {
  if (!ConsumeWrite()) return Status::IOError("injected write failure: " + path);
  return base_->CreateDirs(path);
}

}  // namespace mirrorca
