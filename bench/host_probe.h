// host_probe: this machine's own share of a latency benchmark's tail,
// measured in the same run.
//
//  - ProbeDurableWrites: one small append (3 KiB, about one group commit of
//    single enrolls) and fdatasync, again and again, in a file on the
//    filesystem under test, with nothing else running: the disk's own
//    commit latency, with no RocksDB and no CPU load.
//  - CapacityMonitor: while a phase runs, one real-time thread per CPU
//    (SCHED_FIFO, pinned) wakes every 5 ms and times a fixed ~50 µs of
//    arithmetic. A real-time thread preempts every thread of the benchmark,
//    so when it wakes late, or runs its work slower than usual on every CPU
//    at once, the CPUs were slowed or taken by the host, not busy with the
//    benchmark. (On the VMs we measure on, the host runs both vCPUs at about
//    55 % of their speed for tens of milliseconds every few seconds, and
//    /proc/stat counts no steal.) One CPU alone running slower is not
//    counted: interrupts land on one CPU. It costs about 1 % of each CPU.
//    Without the privilege to use SCHED_FIFO it says so and measures nothing.
//
// Thread-safety: ProbeDurableWrites runs on the calling thread and touches
// only its own file. A CapacityMonitor is started and stopped by one thread.
#ifndef MIRRORCA_BENCH_HOST_PROBE_H_
#define MIRRORCA_BENCH_HOST_PROBE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace mirrorca::bench {

using Clock = std::chrono::steady_clock;

// LatencyTail: a probe's samples, in milliseconds.
struct LatencyTail {
  size_t samples = 0;
  double seconds = 0;  // how long the probe ran
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  size_t over_2_5ms = 0, over_5ms = 0;  // samples slower than 2.5 ms and 5 ms
};

// Percentile: the value at fraction `p` (0..1) of `v` once sorted, as a
// latency report counts it (p = 1: the maximum; 0 for no samples).
double Percentile(std::vector<double> v, double p);

// ProbeDurableWrites: write(3 KiB) + fdatasync latency in a new file in
// `dir` (removed afterwards), for `seconds`.
Result<LatencyTail> ProbeDurableWrites(const std::string& dir, double seconds);

nlohmann::json ToJson(const LatencyTail& tail);

// Interval: a stretch of time in which the machine, not the benchmark, was slow.
struct Interval {
  Clock::time_point from, to;
};

// Overlaps: whether a request that started at `start` and took `latency`
// shared its time with one of `sorted` (by `from`, not overlapping each
// other much), or started at most `drain` after one ended: the backlog a
// stall leaves behind takes about as long again to drain.
bool Overlaps(const std::vector<Interval>& sorted, Clock::time_point start, Clock::duration latency,
              Clock::duration drain);

class CapacityMonitor {
 public:
  struct Report {
    bool measured = false;  // false: no SCHED_FIFO here (see `why`)
    std::string why;
    double work_us = 0;     // the work's median time
    size_t samples = 0;
    std::vector<Interval> slowed;  // 10 ms windows in which every CPU ran under 75 % of its speed
    std::vector<Interval> taken;   // a CPU's thread woke over 1 ms late: from when it was due to when it woke
  };

  CapacityMonitor();  // starts the threads
  ~CapacityMonitor();
  CapacityMonitor(const CapacityMonitor&) = delete;
  CapacityMonitor& operator=(const CapacityMonitor&) = delete;

  // Stop joins the threads and reports; call once.
  Report Stop();

 private:
  struct Sample {
    Clock::time_point due;
    double late_us, work_us;
  };
  void Run(unsigned cpu, std::vector<Sample>* out);

  uint64_t iterations_ = 0;  // of the arithmetic, ~50 µs when it started
  std::atomic<bool> stop_{false};
  std::atomic<int> refused_{0};  // errno of a refused SCHED_FIFO, if any
  std::vector<std::vector<Sample>> samples_;
  std::vector<std::thread> threads_;
};

nlohmann::json ToJson(const CapacityMonitor::Report& report);

}  // namespace mirrorca::bench

#endif  // MIRRORCA_BENCH_HOST_PROBE_H_
