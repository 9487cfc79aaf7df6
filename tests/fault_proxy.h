// FaultProxy: a TCP proxy on 127.0.0.1 for tests that puts one fault into
// the next connection it forwards — drop it, cut it after N bytes, delay
// every chunk, flip one byte, send one chunk twice, or stall (stop
// forwarding without closing). The TLS session between the real peers runs
// through it unchanged otherwise.
//
// Thread-safety: SetPlan from the test thread; connections run on their
// own threads, joined by the destructor.
#ifndef MIRRORCA_TESTS_FAULT_PROXY_H_
#define MIRRORCA_TESTS_FAULT_PROXY_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <thread>

namespace mirrorca::testing {

struct FaultPlan {
  enum Kind { kNone, kDrop, kCut, kDelay, kCorrupt, kDuplicate, kStall } kind = kNone;
  int direction = 0;     // 0: client → server, 1: server → client
  uint64_t at_byte = 0;  // where kCut / kCorrupt / kDuplicate / kStall strike
  int delay_ms = 0;      // kDelay: per chunk
  std::string Name() const {
    static const char* names[] = {"none", "drop", "cut", "delay", "corrupt", "duplicate", "stall"};
    return std::string(names[kind]) + (kind == kNone || kind == kDrop ? "" :
           "@" + std::to_string(at_byte) + (direction ? "<-" : "->"));
  }
};

class FaultProxy {
 public:
  explicit FaultProxy(uint16_t upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      std::abort();
    }
    socklen_t len = sizeof(a);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~FaultProxy() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    accept_thread_.join();
    std::list<std::thread> conns;
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
      conns.swap(conns_);
    }
    for (auto& t : conns) t.join();
  }
  uint16_t port() const { return port_; }
  void SetPlan(const FaultPlan& p) {
    std::lock_guard lock(mu_);
    plan_ = p;
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (stopping_) return;
        continue;
      }
      std::lock_guard lock(mu_);
      FaultPlan p = plan_;
      if (p.kind == FaultPlan::kDrop) {
        ::close(c);
        continue;
      }
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(upstream_port_);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(c);
        ::close(s);
        continue;
      }
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fds_.push_back(c);
      fds_.push_back(s);
      conns_.emplace_back([this, c, s, p] { Pump(c, s, p); });
    }
  }

  static bool WriteAll(int fd, const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  void Pump(int c, int s, FaultPlan p) {
    int fd[2] = {c, s};  // direction 0 reads c writes s; 1 reads s writes c
    uint64_t count[2] = {0, 0};
    bool stalled[2] = {false, false};
    char buf[16384];
    bool open = true;
    while (open && !stopping_) {
      pollfd pf[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
      if (::poll(pf, 2, 200) <= 0) continue;
      for (int d = 0; d < 2 && open; ++d) {
        if (pf[d].revents == 0) continue;
        ssize_t n = ::recv(fd[d], buf, sizeof(buf), 0);
        if (n <= 0) {
          open = false;
          break;
        }
        size_t len = static_cast<size_t>(n);
        const uint64_t from = count[d];
        count[d] += len;
        if (stalled[d]) continue;  // swallowed
        const bool strikes = p.direction == d && p.at_byte >= from && p.at_byte < from + len;
        const int out = fd[1 - d];
        switch (p.kind) {
          case FaultPlan::kCut:
            if (strikes) {
              WriteAll(out, buf, p.at_byte - from);
              open = false;
              continue;
            }
            break;
          case FaultPlan::kCorrupt:
            if (strikes) buf[p.at_byte - from] = static_cast<char>(buf[p.at_byte - from] ^ 0x5a);
            break;
          case FaultPlan::kDuplicate:
            if (strikes && !WriteAll(out, buf, len)) open = false;
            break;
          case FaultPlan::kStall:
            if (strikes) {
              WriteAll(out, buf, p.at_byte - from);
              stalled[d] = true;
              continue;
            }
            break;
          case FaultPlan::kDelay:
            if (p.direction == d) std::this_thread::sleep_for(std::chrono::milliseconds(p.delay_ms));
            break;
          default:
            break;
        }
        if (open && !WriteAll(out, buf, len)) open = false;
      }
    }
    std::lock_guard lock(mu_);
    ::shutdown(c, SHUT_RDWR);
    ::shutdown(s, SHUT_RDWR);
    ::close(c);
    ::close(s);
    fds_.remove(c);
    fds_.remove(s);
  }

  const uint16_t upstream_port_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  FaultPlan plan_;
  std::list<std::thread> conns_;
  std::list<int> fds_;
};

}  // namespace mirrorca::testing

#endif  // MIRRORCA_TESTS_FAULT_PROXY_H_
