#include "net/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mirrorca::net {
namespace {

constexpr size_t kMaxRequest = 64 << 10;

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) {
    return Status::InvalidArgument("control socket path too long: " + path);
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

int Connect(const sockaddr_un& a) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& path,
                                                            Handler handler) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  int probe = Connect(*addr);
  if (probe >= 0) {
    ::close(probe);
    return Status::AlreadyExists("a node is already running with control socket " + path);
  }
  ::unlink(path.c_str());  // stale socket from a node that died
  std::unique_ptr<ControlServer> s(new ControlServer());
  s->path_ = path;
  s->handler_ = std::move(handler);
  s->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  const mode_t old = ::umask(0177);  // the socket file is created 0600
  int rc = ::bind(s->listen_fd_, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  ::umask(old);
  if (rc != 0 || ::listen(s->listen_fd_, 16) != 0) {
    return Status::IOError("control socket " + path + ": " + std::strerror(errno));
  }
  if (::pipe2(s->wake_, O_CLOEXEC) != 0) return Status::IOError("pipe");
  s->accept_thread_ = std::thread([p = s.get()] { p->AcceptLoop(); });
  return s;
}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  if (accept_thread_.joinable()) accept_thread_.join();
  std::list<Connection> conns;
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    conns.swap(connections_);  // list nodes keep their addresses
  }
  for (Connection& c : conns) c.thread.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
  ::unlink(path_.c_str());
}

void ControlServer::AcceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid()) {
      ::close(fd);  // only the node's own user may drive it
      continue;
    }
    std::lock_guard lock(mu_);
    ReapLocked();
    open_fds_.push_back(fd);
    Connection& c = connections_.emplace_back();
    c.thread = std::thread([this, fd, &c] {
      Serve(fd);
      std::lock_guard done_lock(mu_);  // after the assignment above: mu_ is held until then
      c.done = true;
    });
  }
}

void ControlServer::ReapLocked() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    it->thread.join();  // it only has to return: it no longer needs mu_
    it = connections_.erase(it);
  }
}

size_t ControlServer::TEST_Connections() {
  std::lock_guard lock(mu_);
  return connections_.size();
}

void ControlServer::Serve(int fd) {
  std::string request;
  char buf[4096];
  while (request.find('\n') == std::string::npos && request.size() < kMaxRequest) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  size_t eol = request.find('\n');
  if (eol != std::string::npos) {
    request.resize(eol);
    handler_(request, [fd](const std::string& line) { return WriteAll(fd, line + "\n"); });
  } else {
    WriteAll(fd, "{\"error\":\"request must be one line of at most 64 KiB\"}\n");
  }
  std::lock_guard lock(mu_);
  open_fds_.remove(fd);
  ::close(fd);
}

Status ControlRequest(const std::string& path, const std::string& request,
                      const std::function<void(const std::string&)>& on_line) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  int fd = Connect(*addr);
  if (fd < 0) return Status::NotFound("no node listens on " + path);
  if (!WriteAll(fd, request + "\n")) {
    ::close(fd);
    return Status::Unavailable("control socket: send failed");
  }
  std::string pending;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t eol;
    while ((eol = pending.find('\n')) != std::string::npos) {
      on_line(pending.substr(0, eol));
      pending.erase(0, eol + 1);
    }
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace mirrorca::net
