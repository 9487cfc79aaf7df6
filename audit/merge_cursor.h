// MergeCursor reads every log of a store from given positions as one
// stream in merge order: time, then log origin, then seq (each log is
// non-decreasing in time). Events are parsed (not verified: that is
// `audit verify`'s business) in chunks of 1,024 per log.
//
// Thread-safety: not thread-safe; the StoreLogs must outlive it.
#ifndef MIRRORCA_AUDIT_MERGE_CURSOR_H_
#define MIRRORCA_AUDIT_MERGE_CURSOR_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "audit/store_logs.h"
#include "log/event_codec.h"

namespace mirrorca::audit {

class MergeCursor {
 public:
  struct Item {
    const std::string* origin;
    uint64_t seq;
    log::ParsedEvent* event;
  };
  // `from`: origin -> first seq to read (absent: 0).
  MergeCursor(StoreLogs& logs, const std::map<std::string, uint64_t>& from);
  // Peek returns the next event (null at the end) without consuming it; the
  // item stays valid until the next Pop.
  Result<const Item*> Peek();
  // Pop consumes the event the last Peek returned.
  void Pop() { ++current_stream_->next; }
  // read returns how many events were read from the logs so far.
  uint64_t read() const { return read_; }

 private:
  struct Stream {
    const std::string* origin;
    log::EventLog* log;
    uint64_t position;  // next seq to read from the log
    std::vector<std::pair<uint64_t, log::ParsedEvent>> buffer;
    size_t next;
  };
  Status Fill(Stream& s);

  std::vector<Stream> streams_;
  Item current_{};
  Stream* current_stream_ = nullptr;
  uint64_t read_ = 0;
};

}  // namespace mirrorca::audit

#endif  // MIRRORCA_AUDIT_MERGE_CURSOR_H_
