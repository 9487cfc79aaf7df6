#include "audit/merge_cursor.h"

#include <algorithm>

#include "base/status_macros.h"

namespace mirrorca::audit {

MergeCursor::MergeCursor(StoreLogs& logs, const std::map<std::string, uint64_t>& from) {
  for (auto& [origin, l] : logs.logs) {
    auto it = from.find(origin);
    streams_.push_back(Stream{&origin, l.get(), it == from.end() ? 0 : it->second, {}, 0});
  }
}

Result<const MergeCursor::Item*> MergeCursor::Peek() {
  Stream* best = nullptr;
  for (Stream& s : streams_) {
    RETURN_IF_ERROR(Fill(s));
    if (s.next == s.buffer.size()) continue;
    if (best == nullptr ||
        s.buffer[s.next].second.event().getTime() < best->buffer[best->next].second.event().getTime()) {
      best = &s;  // streams are in origin order: ties go to the smaller origin
    }
  }
  if (best == nullptr) return static_cast<const Item*>(nullptr);
  current_ = Item{best->origin, best->buffer[best->next].first, &best->buffer[best->next].second};
  current_stream_ = best;
  return &current_;
}

Status MergeCursor::Fill(Stream& s) {
  if (s.next < s.buffer.size() || s.position >= s.log->Size()) return Status::Ok();
  s.buffer.clear();
  s.next = 0;
  const uint64_t to = std::min(s.log->Size(), s.position + 1024);
  RETURN_IF_ERROR(s.log->ForEach(s.position, to, [&](uint64_t seq, std::string_view bytes) -> Status {
    ASSIGN_OR_RETURN(log::ParsedEvent e, log::ParsedEvent::Parse(AsBytes(bytes)));
    s.buffer.emplace_back(seq, std::move(e));
    return Status::Ok();
  }));
  if (s.buffer.size() != to - s.position) {
    return Status::Corruption("log " + *s.origin + " misses events in [" + std::to_string(s.position) + ", " +
                              std::to_string(to) + ") (run audit verify)");
  }
  read_ += s.buffer.size();
  s.position = to;
  return Status::Ok();
}

}  // namespace mirrorca::audit
