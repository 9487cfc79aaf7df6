// ParallelFor: runs fn(begin, end) over [0, n) split into contiguous chunks on
// up to `threads` threads (the caller's thread included) and returns when all
// chunks are done. For CPU-bound loops such as verifying a run of signatures.
//
// Thread-safety: `fn` is called concurrently on disjoint ranges; it must be
// safe to call so.
#ifndef MIRRORCA_BASE_PARALLEL_FOR_H_
#define MIRRORCA_BASE_PARALLEL_FOR_H_

#include <cstddef>
#include <functional>

namespace mirrorca {

// HardwareThreads returns the number of CPUs available (at least 1).
unsigned HardwareThreads();

void ParallelFor(size_t n, unsigned threads, const std::function<void(size_t, size_t)>& fn);

}  // namespace mirrorca

#endif  // MIRRORCA_BASE_PARALLEL_FOR_H_
