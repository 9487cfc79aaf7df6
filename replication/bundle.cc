#include "replication/bundle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/status_macros.h"
#include "crypto/sha256.h"
#include "replication/channel.h"

namespace mirrorca::replication {
namespace {

constexpr char kMagic[8] = {'m', 'c', 'a', '-', 'b', 'n', 'd', '1'};
constexpr uint32_t kBundleVersion = 1;

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

// BundleWriter: frames to a file descriptor, hashed as written.
class BundleWriter final : public FrameChannel {
 public:
  explicit BundleWriter(int fd) : fd_(fd) {}
  Status WriteRaw(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    size_t left = n;
    while (left > 0) {
      ssize_t w = ::write(fd_, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Errno("write bundle");
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    digest_.Update(ByteSpan(static_cast<const uint8_t*>(data), n));
    bytes_sent_ += n;
    return Status::Ok();
  }
  Status Send(capnp::MessageBuilder& message) override {
    kj::Array<capnp::word> words = EncodeFrame(message);
    return WriteRaw(words.begin(), words.size() * sizeof(capnp::word));
  }
  Result<std::unique_ptr<Frame>> Receive() override {
    return Status::Internal("a bundle being written cannot be read");
  }
  crypto::Hash Digest() const { return digest_.Peek(); }

 private:
  int fd_;
  crypto::Sha256Stream digest_;
};

// BundleReader: frames from a file, hashed as read.
class BundleReader final : public FrameChannel {
 public:
  static Result<std::unique_ptr<BundleReader>> Open(const std::string& path) {
    std::unique_ptr<BundleReader> r(new BundleReader());
    r->file_ = std::fopen(path.c_str(), "rb");
    if (r->file_ == nullptr) return Errno("open bundle " + path);
    char magic[8];
    Status s = r->ReadExact(magic, sizeof(magic));
    if (!s.ok() || std::memcmp(magic, kMagic, sizeof(magic)) != 0) {
      return Status::InvalidArgument(path + " is not a mirrorca bundle");
    }
    return r;
  }
  ~BundleReader() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Send(capnp::MessageBuilder&) override {
    return Status::Internal("a bundle being read cannot be written");
  }
  Result<std::unique_ptr<Frame>> Receive() override {
    Result<std::unique_ptr<Frame>> f = ReadFrame([this](void* out, size_t n) {
      return ReadExact(out, n);
    });
    if (!f.ok() && f.status().code() == StatusCode::kOutOfRange) {
      return Status::InvalidArgument("bundle truncated");
    }
    return f;
  }
  bool AtEnd() { return std::fgetc(file_) == EOF; }
  crypto::Hash Digest() const { return digest_.Peek(); }

 private:
  BundleReader() = default;
  Status ReadExact(void* out, size_t n) {
    if (std::fread(out, 1, n, file_) != n) {
      return std::ferror(file_) ? Errno("read bundle") : Status::OutOfRange("end of bundle");
    }
    digest_.Update(ByteSpan(static_cast<const uint8_t*>(out), n));
    bytes_received_ += n;
    return Status::Ok();
  }
  std::FILE* file_ = nullptr;
  crypto::Sha256Stream digest_;
};

Result<BundleInfo> HeaderOf(BundleReader& r) {
  ASSIGN_OR_RETURN(std::unique_ptr<Frame> f, r.Receive());
  BundleInfo info;
  RETURN_IF_ERROR(ReadGuarded([&]() -> Status {
    wire::Message::Reader m = f->message();
    if (!m.isBundleHeader()) return Status::InvalidArgument("bundle does not start with a header");
    auto h = m.getBundleHeader();
    if (h.getFormatVersion() != kBundleVersion) {
      return Status::InvalidArgument("bundle format version " +
                                     std::to_string(h.getFormatVersion()) + " is not supported");
    }
    info.log = h.getLog().cStr();
    info.creator = h.getCreator().cStr();
    info.from = h.getFromSize();
    info.created_at = h.getCreatedAt();
    return Status::Ok();
  }));
  return info;
}

// ReadThrough runs one pass over the bundle: header, the transfer into
// `receiver`, then the end frame whose digest must match.
Result<BundleInfo> ReadThrough(const std::string& path, LogReceiver& receiver,
                               const std::string& expected_log) {
  ASSIGN_OR_RETURN(std::unique_ptr<BundleReader> r, BundleReader::Open(path));
  ASSIGN_OR_RETURN(BundleInfo info, HeaderOf(*r));
  if (info.log != expected_log) {
    return Status::InvalidArgument("bundle carries log '" + info.log + "', expected '" +
                                   expected_log + "'");
  }
  ASSIGN_OR_RETURN(std::string note, receiver.Receive(*r));
  const crypto::Hash digest = r->Digest();
  ASSIGN_OR_RETURN(std::unique_ptr<Frame> end, r->Receive());
  RETURN_IF_ERROR(ReadGuarded([&]() -> Status {
    wire::Message::Reader m = end->message();
    if (!m.isBundleEnd()) return Status::InvalidArgument("bundle has no end frame");
    auto d = m.getBundleEnd().getSha256();
    if (d.size() != digest.size() || !std::equal(d.begin(), d.end(), digest.begin())) {
      return Status::Corruption("bundle digest does not match its content");
    }
    return Status::Ok();
  }));
  if (!r->AtEnd()) return Status::InvalidArgument("bytes after the end of the bundle");
  info.tree_size = receiver.stats().tree_size;
  info.bytes = r->bytes_received();
  return info;
}

// CheckDigest reads every frame up to BundleEnd and compares the digest:
// damage anywhere in the file is found before any content is interpreted.
Status CheckDigest(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<BundleReader> r, BundleReader::Open(path));
  while (true) {
    const crypto::Hash digest = r->Digest();
    ASSIGN_OR_RETURN(std::unique_ptr<Frame> f, r->Receive());
    bool end = false;
    RETURN_IF_ERROR(ReadGuarded([&]() -> Status {
      wire::Message::Reader m = f->message();
      if (!m.isBundleEnd()) return Status::Ok();
      end = true;
      auto d = m.getBundleEnd().getSha256();
      if (d.size() != digest.size() || !std::equal(d.begin(), d.end(), digest.begin())) {
        return Status::InvalidArgument("bundle is damaged: its SHA-256 does not match");
      }
      return Status::Ok();
    }));
    if (end) break;
  }
  if (!r->AtEnd()) return Status::InvalidArgument("bytes after the end of the bundle");
  return Status::Ok();
}

}  // namespace

Result<BundleInfo> ExportBundle(log::EventLog& log, uint64_t from, const std::string& creator,
                                int64_t now_micros, const std::string& path,
                                const SendOptions& options) {
  Result<std::string> note = log.LatestCheckpoint();
  if (log.verifier().name() == creator) {
    note = log.SignCheckpoint();  // own log: a checkpoint of everything held
  }
  if (!note.ok()) return note.status().WithContext("no checkpoint to export");
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create " + tmp);
  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  BundleWriter w(fd);
  BundleInfo info;
  info.log = log.origin();
  info.creator = creator;
  info.from = from;
  info.created_at = now_micros;
  Status s = w.WriteRaw(kMagic, sizeof(kMagic));
  if (s.ok()) {
    capnp::MallocMessageBuilder m;
    auto h = m.initRoot<wire::Message>().initBundleHeader();
    h.setFormatVersion(kBundleVersion);
    h.setLog(info.log);
    h.setFromSize(from);
    h.setCreatedAt(now_micros);
    h.setCreator(creator);
    s = w.Send(m);
  }
  if (!s.ok()) return fail(s);
  Result<TransferStats> sent = SendLog(w, log, from, *note, options);
  if (!sent.ok()) return fail(sent.status());
  info.tree_size = sent->tree_size;
  {
    capnp::MallocMessageBuilder m;
    const crypto::Hash digest = w.Digest();
    m.initRoot<wire::Message>().initBundleEnd().setSha256(
        capnp::Data::Reader(digest.data(), digest.size()));
    s = w.Send(m);
  }
  if (!s.ok()) return fail(s);
  if (::fsync(fd) != 0) return fail(Errno("fsync " + tmp));
  info.bytes = w.bytes_sent();
  if (::close(fd) != 0) return Errno("close " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename " + tmp);
  return info;
}

Result<BundleInfo> ReadBundleHeader(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<BundleReader> r, BundleReader::Open(path));
  return HeaderOf(*r);
}

Result<BundleImport> ImportBundle(log::EventLog& copy, const std::string& path,
                                  const Progress& progress, std::optional<Refused>* refused,
                                  const EventCheck& check) {
  auto refuse = [&](const LogReceiver& rx, Status s) -> Status {
    if (refused != nullptr) {
      if (rx.refused()) {
        *refused = rx.refused();
      } else {
        *refused = Refused{s.code() == StatusCode::kCorruption ? RefusalKind::kBadProof
                                                               : RefusalKind::kMalformed,
                           s.message(), {}};
      }
    }
    return s;
  };
  // Pass 0: the file is intact (a damaged copy is not evidence against the log).
  if (Status s = CheckDigest(path); !s.ok()) {
    if (refused != nullptr) *refused = Refused{RefusalKind::kMalformed, s.message(), {}};
    return s.WithContext("bundle refused");
  }
  // Pass 1: verify everything, store nothing.
  LogReceiver dry(&copy, LogReceiver::Mode::kDryRun, nullptr, check);
  Result<BundleInfo> checked = ReadThrough(path, dry, copy.origin());
  if (!checked.ok()) return refuse(dry, checked.status().WithContext("bundle refused"));
  // Pass 2: apply (the receiver verifies again as it stores).
  LogReceiver apply(&copy, LogReceiver::Mode::kBundle, progress, check);
  Result<BundleInfo> applied = ReadThrough(path, apply, copy.origin());
  if (!applied.ok()) return refuse(apply, applied.status().WithContext("bundle import"));
  BundleImport out;
  out.info = *applied;
  out.stats = apply.stats();
  Result<std::string> note = copy.LatestCheckpoint();
  out.note = note.ok() ? *note : "";
  return out;
}

}  // namespace mirrorca::replication
