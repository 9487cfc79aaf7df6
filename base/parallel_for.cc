#include "base/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace mirrorca {

unsigned HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

void ParallelFor(size_t n, unsigned threads, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  size_t workers = std::min<size_t>(std::max(1u, threads), n);
  if (workers == 1) {
    fn(0, n);
    return;
  }
  // Small pieces taken on demand: a worker slowed by another process (or by
  // a commit thread) does not leave the others idle at the end.
  const size_t piece = std::max<size_t>(1, n / (workers * 16));
  std::atomic<size_t> next{0};
  auto work = [&] {
    while (true) {
      size_t begin = next.fetch_add(piece);
      if (begin >= n) return;
      fn(begin, std::min(n, begin + piece));
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace mirrorca
