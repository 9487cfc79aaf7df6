#include "log/key_history.h"

#include <algorithm>
#include <sstream>

#include "base/status_macros.h"

namespace mirrorca::log {

KeyHistory::KeyHistory(LogVerifier initial) { epochs_.push_back({0, std::move(initial)}); }

Result<KeyHistory> KeyHistory::Parse(std::string_view text) {
  std::optional<KeyHistory> h;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Status::Corruption("key history: malformed line");
    uint64_t from = 0;
    for (char c : line.substr(0, sp)) {
      if (c < '0' || c > '9') return Status::Corruption("key history: bad seq");
      from = from * 10 + static_cast<uint64_t>(c - '0');
    }
    ASSIGN_OR_RETURN(LogVerifier key, LogVerifier::Parse(line.substr(sp + 1)));
    if (!h) {
      if (from != 0) return Status::Corruption("key history: the first key must start at 0");
      h.emplace(std::move(key));
    } else {
      if (from == 0) return Status::Corruption("key history: a rotation at seq -1");
      RETURN_IF_ERROR(h->Rotate(from - 1, std::move(key)).WithContext("key history"));
    }
  }
  if (!h) return Status::Corruption("key history: empty");
  return std::move(*h);
}

std::string KeyHistory::Serialize() const {
  std::string out;
  for (const KeyEpoch& e : epochs_) out += std::to_string(e.from) + " " + e.key.VerifierKey() + "\n";
  return out;
}

const LogVerifier& KeyHistory::KeyAt(uint64_t seq_or_size) const {
  // The last epoch with from <= x (epochs are in increasing `from`).
  auto it = std::upper_bound(epochs_.begin(), epochs_.end(), seq_or_size,
                             [](uint64_t x, const KeyEpoch& e) { return x < e.from; });
  return std::prev(it)->key;
}

Status KeyHistory::Rotate(uint64_t rotation_seq, LogVerifier next) {
  if (next.name() != origin()) {
    return Status::InvalidArgument("a rotation of log '" + origin() + "' names a key of '" + next.name() + "'");
  }
  if (rotation_seq + 1 <= epochs_.back().from) {
    return Status::InvalidArgument("a rotation at seq " + std::to_string(rotation_seq) +
                                   " does not follow the previous one");
  }
  for (const KeyEpoch& e : epochs_) {
    if (e.key.public_key() == next.public_key()) {
      return Status::InvalidArgument("a rotation of log '" + origin() + "' back to a key it already used");
    }
  }
  epochs_.push_back({rotation_seq + 1, std::move(next)});
  return Status::Ok();
}

Result<std::optional<LogVerifier>> RotationIn(schema::Event::Reader event) {
  if (event.getKind().which() != schema::Event::Kind::LOG_KEY_ROTATED) return std::optional<LogVerifier>();
  Result<LogVerifier> next = LogVerifier::Parse(event.getKind().getLogKeyRotated().getNewKey().cStr());
  if (!next.ok()) return next.status().WithContext("logKeyRotated");
  return std::optional<LogVerifier>(std::move(*next));
}

Status VerifyEventWith(KeyHistory& keys, const ParsedEvent& event) {
  const LogVerifier& key = keys.KeyAt(event.seq());
  if (!key.Verify(EventSigningInput(event.body()), event.signature())) {
    return Status::Corruption("signature does not verify with the key of '" + key.name() + "' in force at seq " +
                              std::to_string(event.seq()));
  }
  ASSIGN_OR_RETURN(std::optional<LogVerifier> next, RotationIn(event.event()));
  if (next) RETURN_IF_ERROR(keys.Rotate(event.seq(), std::move(*next)));
  return Status::Ok();
}

}  // namespace mirrorca::log
