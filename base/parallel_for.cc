#include "base/parallel_for.h"

#include <algorithm>
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
  size_t chunk = (n + workers - 1) / workers;
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t w = 1; w < workers; ++w) {
    size_t begin = w * chunk;
    size_t end = std::min(n, begin + chunk);
    if (begin >= end) break;
    pool.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  fn(0, std::min(n, chunk));
  for (auto& t : pool) t.join();
}

}  // namespace mirrorca
