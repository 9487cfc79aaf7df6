#include "replication/framing.h"

#include <kj/exception.h>

#include <cstring>
#include <vector>

#include "base/status_macros.h"

namespace mirrorca::replication {
namespace {

constexpr size_t kMaxFrameWords = kMaxFrameBytes / sizeof(capnp::word);

capnp::ReaderOptions FrameReaderOptions() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = kMaxFrameWords * 2;  // a frame is read about once
  o.nestingLimit = 16;
  return o;
}

}  // namespace

Frame::Frame(kj::Array<capnp::word> words)
    : words_(kj::mv(words)), reader_(words_.asPtr(), FrameReaderOptions()) {}

Result<std::unique_ptr<Frame>> ReadFrame(const ReadExact& read) {
  // The segment table: its first word says how long it is; it then tells
  // the frame's size before a byte of the body is read.
  capnp::word first;
  RETURN_IF_ERROR(read(&first, sizeof(first)));
  uint32_t segments_minus_one;
  std::memcpy(&segments_minus_one, &first, 4);
  if (segments_minus_one >= 512) {
    return Status::InvalidArgument("malformed frame: " + std::to_string(segments_minus_one + 1u) +
                                   " segments");
  }
  const size_t table_words = (segments_minus_one + 3) / 2;  // (4 + 4 * segments) / 8, rounded up
  std::vector<capnp::word> table(table_words);
  std::memcpy(&table[0], &first, sizeof(first));  // capnp::word is not copy-assignable under clang
  if (table_words > 1) RETURN_IF_ERROR(read(&table[1], (table_words - 1) * sizeof(capnp::word)));
  size_t expected = 0;
  try {
    expected = capnp::expectedSizeInWordsFromPrefix(kj::arrayPtr(table.data(), table.size()));
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument(std::string("malformed frame: ") + e.getDescription().cStr());
  }
  if (expected > kMaxFrameWords) {
    return Status::InvalidArgument("frame of " + std::to_string(expected * 8) +
                                   " bytes exceeds the limit of " + std::to_string(kMaxFrameBytes));
  }
  if (expected < table_words) return Status::InvalidArgument("malformed frame: bad segment table");
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(expected);
  std::memcpy(words.begin(), table.data(), table_words * sizeof(capnp::word));
  if (expected > table_words) {
    RETURN_IF_ERROR(read(words.begin() + table_words, (expected - table_words) * sizeof(capnp::word)));
  }
  try {
    return std::make_unique<Frame>(kj::mv(words));
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument(std::string("malformed frame: ") + e.getDescription().cStr());
  }
}

kj::Array<capnp::word> EncodeFrame(capnp::MessageBuilder& message) {
  return capnp::messageToFlatArray(message);
}

Status ReadGuarded(const std::function<Status()>& fn) {
  try {
    return fn();
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument(std::string("malformed message: ") +
                                   e.getDescription().cStr());
  }
}

}  // namespace mirrorca::replication
