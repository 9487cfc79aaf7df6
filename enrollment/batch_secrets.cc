#include "enrollment/batch_secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mirrorca::enrollment {
namespace {

// A batch id names a file only if it is made of [A-Za-z0-9._-], does not
// start with '.', and is at most 64 characters (as batch ids are).
bool SafeName(const std::string& batch) {
  if (batch.empty() || batch.size() > 64 || batch[0] == '.') return false;
  for (char ch : batch) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                    ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<std::optional<std::string>> BatchSecrets::Read(const std::string& batch) const {
  if (dir_.empty()) return std::optional<std::string>();
  if (!SafeName(batch)) return Status::InvalidArgument("batch id '" + batch.substr(0, 64) + "' names no secret file");
  const std::string path = dir_ + "/" + batch + ".secret";
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::PermissionDenied("cannot open the CMP secret of batch " + batch + " (" + path + ")");
  }
  struct stat st {};
  std::string secret;
  Status s = Status::Ok();
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    s = Status::PermissionDenied(path + " is not a regular file");
  } else if ((st.st_mode & 077) != 0) {
    s = Status::PermissionDenied(path + " is readable by others than its owner: chmod 600 it");
  } else if (st.st_size > 1024) {
    s = Status::InvalidArgument(path + " is larger than 1 KiB");
  } else {
    secret.resize(static_cast<size_t>(st.st_size));
    const ssize_t n = ::read(fd, secret.data(), secret.size());
    if (n != static_cast<ssize_t>(secret.size())) s = Status::IOError("cannot read " + path);
  }
  ::close(fd);
  if (!s.ok()) return s;
  if (const size_t eol = secret.find_first_of("\r\n"); eol != std::string::npos) secret.resize(eol);
  if (secret.empty()) return Status::InvalidArgument(path + " holds no secret on its first line");
  return std::optional<std::string>(std::move(secret));
}

}  // namespace mirrorca::enrollment
