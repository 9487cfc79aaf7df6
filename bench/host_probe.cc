#include "bench/host_probe.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace mirrorca::bench {
namespace {

// Arithmetic the compiler cannot fold away: a chain of dependent
// multiply-adds, the same speed at every call.
uint64_t Work(uint64_t iterations) {
  volatile uint64_t x = 1;
  uint64_t v = x;
  for (uint64_t i = 0; i < iterations; ++i) v = v * 6364136223846793005ULL + 1442695040888963407ULL;
  x = v;
  return x;
}

double MicrosBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

double MillisSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

LatencyTail Summarize(std::vector<double> ms, double seconds) {
  LatencyTail t;
  t.samples = ms.size();
  t.seconds = seconds;
  if (ms.empty()) return t;
  for (double v : ms) {
    t.over_2_5ms += v > 2.5;
    t.over_5ms += v > 5;
  }
  t.p50_ms = Percentile(ms, 0.50);
  t.p99_ms = Percentile(ms, 0.99);
  t.p999_ms = Percentile(ms, 0.999);
  t.max_ms = Percentile(std::move(ms), 1.0);
  return t;
}

}  // namespace

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

Result<LatencyTail> ProbeDurableWrites(const std::string& dir, double seconds) {
  const std::string path = dir + "/host_probe_" + std::to_string(getpid());
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  const std::string block(3072, 'x');
  std::vector<double> ms;
  Status status = Status::Ok();
  const Clock::time_point start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (status.ok() && Clock::now() < end) {
    const Clock::time_point t = Clock::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      status = Status::IOError("write and fdatasync " + path + ": " + std::strerror(errno));
      break;
    }
    ms.push_back(MillisSince(t));
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!status.ok()) return status;
  return Summarize(std::move(ms), MillisSince(start) / 1000);
}

nlohmann::json ToJson(const LatencyTail& t) {
  return nlohmann::json{{"samples", t.samples}, {"seconds", t.seconds},   {"p50_ms", t.p50_ms},
                        {"p99_ms", t.p99_ms},   {"p999_ms", t.p999_ms},   {"max_ms", t.max_ms},
                        {"over_2_5ms", t.over_2_5ms}, {"over_5ms", t.over_5ms}};
}

CapacityMonitor::CapacityMonitor() {
  // ~50 µs of work, from the fastest of a few timed runs.
  constexpr uint64_t kTrial = 100000;
  double best_us = 1e9;
  for (int i = 0; i < 5; ++i) {
    const Clock::time_point a = Clock::now();
    Work(kTrial);
    best_us = std::min(best_us, MicrosBetween(a, Clock::now()));
  }
  iterations_ = std::max<uint64_t>(1000, static_cast<uint64_t>(kTrial * 50 / std::max(best_us, 1.0)));
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  samples_.resize(cpus);
  for (unsigned cpu = 0; cpu < cpus; ++cpu) threads_.emplace_back([this, cpu] { Run(cpu, &samples_[cpu]); });
}

CapacityMonitor::~CapacityMonitor() {
  stop_ = true;
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void CapacityMonitor::Run(unsigned cpu, std::vector<Sample>* out) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_param param{};
  param.sched_priority = 1;
  if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
    refused_ = EINVAL;
    return;
  }
  if (const int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); e != 0) {
    refused_ = e;
    return;
  }
  constexpr auto kEvery = std::chrono::milliseconds(5);
  out->reserve(4096);
  for (Clock::time_point due = Clock::now() + kEvery; !stop_; due += kEvery) {
    std::this_thread::sleep_until(due);
    const Clock::time_point woke = Clock::now();
    Work(iterations_);
    out->push_back(Sample{due, MicrosBetween(due, woke), MicrosBetween(woke, Clock::now())});
    // After a long stall, resume the schedule from now rather than run the
    // missed ticks back to back.
    if (woke - due > kEvery) due = woke;
  }
}

CapacityMonitor::Report CapacityMonitor::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  Report r;
  if (const int e = refused_.load(); e != 0) {
    r.why = std::string("no real-time threads here (") + std::strerror(e) + "): the host's share is not measured";
    return r;
  }
  std::vector<double> work;
  for (const std::vector<Sample>& v : samples_) {
    for (const Sample& s : v) work.push_back(s.work_us);
  }
  if (work.empty()) {
    r.why = "the phase ended before the first sample";
    return r;
  }
  std::nth_element(work.begin(), work.begin() + work.size() / 2, work.end());
  r.measured = true;
  r.work_us = work[work.size() / 2];
  r.samples = work.size();
  // Each CPU's median work time per 10 ms window; a window is slowed when
  // every CPU's is over 1/0.75 of the overall median.
  constexpr auto kWindow = std::chrono::milliseconds(10);
  Clock::time_point first = Clock::time_point::max();
  for (const std::vector<Sample>& v : samples_) {
    if (!v.empty()) first = std::min(first, v.front().due);
  }
  std::vector<std::vector<std::vector<double>>> per_window;  // [window][cpu] -> work
  for (size_t cpu = 0; cpu < samples_.size(); ++cpu) {
    for (const Sample& s : samples_[cpu]) {
      const size_t w = static_cast<size_t>((s.due - first) / kWindow);
      if (per_window.size() <= w) per_window.resize(w + 1, std::vector<std::vector<double>>(samples_.size()));
      per_window[w][cpu].push_back(s.work_us);
      if (s.late_us > 1000) {
        r.taken.push_back(Interval{s.due, s.due + std::chrono::microseconds(static_cast<int64_t>(s.late_us))});
      }
    }
  }
  for (size_t w = 0; w < per_window.size(); ++w) {
    bool all_slow = true;
    for (std::vector<double>& cpu : per_window[w]) {
      if (cpu.empty()) {
        all_slow = false;
        break;
      }
      std::nth_element(cpu.begin(), cpu.begin() + cpu.size() / 2, cpu.end());
      all_slow = all_slow && cpu[cpu.size() / 2] * 0.75 > r.work_us;
    }
    if (all_slow) r.slowed.push_back(Interval{first + w * kWindow, first + (w + 1) * kWindow});
  }
  std::sort(r.taken.begin(), r.taken.end(), [](const Interval& a, const Interval& b) { return a.from < b.from; });
  return r;
}

bool Overlaps(const std::vector<Interval>& sorted, Clock::time_point start, Clock::duration latency,
              Clock::duration drain) {
  // Intervals are short (10 ms windows, stalls of milliseconds): the first
  // one that could matter starts no earlier than a second before `start`.
  auto it = std::lower_bound(sorted.begin(), sorted.end(), start - std::chrono::seconds(1),
                             [](const Interval& i, Clock::time_point t) { return i.from < t; });
  for (; it != sorted.end() && it->from <= start + latency; ++it) {
    if (it->to + drain >= start) return true;
  }
  return false;
}

nlohmann::json ToJson(const CapacityMonitor::Report& r) {
  if (!r.measured) return nlohmann::json{{"measured", false}, {"why", r.why}};
  return nlohmann::json{{"measured", true},
                        {"samples", r.samples},
                        {"work_us", r.work_us},
                        {"slowed_10ms_windows", r.slowed.size()},
                        {"woke_over_1ms_late", r.taken.size()}};
}

}  // namespace mirrorca::bench
