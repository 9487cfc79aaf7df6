#include "log/event_codec.h"

#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

namespace mirrorca::log {
namespace {

constexpr uint64_t kTraversalLimitWords = kMaxSignedEventBytes / sizeof(capnp::word) * 2;

capnp::ReaderOptions Limits() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = kTraversalLimitWords;
  o.nestingLimit = 16;
  return o;
}

kj::Array<capnp::word> CopyToWords(ByteSpan bytes) {
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), words.size() * sizeof(capnp::word));
  return words;
}

}  // namespace

Bytes EventSigningInput(ByteSpan body) {
  Bytes out;
  out.reserve(kEventSignatureContext.size() + 1 + body.size());
  out.insert(out.end(), kEventSignatureContext.begin(), kEventSignatureContext.end());
  out.push_back(0x00);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<std::string> EncodeCanonicalBody(schema::Event::Reader event) {
  try {
    if (event.getKind().which() == schema::Event::Kind::UNSET) {
      return Status::InvalidArgument("event kind is not set");
    }
    kj::Array<capnp::word> words = capnp::canonicalize(event);
    return std::string(reinterpret_cast<const char*>(words.begin()),
                       words.size() * sizeof(capnp::word));
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument(std::string("event cannot be encoded: ") +
                                   e.getDescription().cStr());
  }
}

namespace {

void PutLittleEndian64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}

// EncodeSignedEventDirect writes the canonical layout of docs/event_log_format.md
// §1.3 without building a message: the hot path of every append. Requires a
// word-aligned body and a 64-byte signature (always true for our events).
std::string EncodeSignedEventDirect(ByteSpan body, ByteSpan signature) {
  const uint64_t body_words = body.size() / 8;
  const uint64_t words = 3 + body_words + 8;
  std::string out(8 + words * 8, '\0');
  char* p = out.data();
  PutLittleEndian64(p, uint64_t{words} << 32);                        // segment table
  PutLittleEndian64(p + 8, uint64_t{2} << 48);                        // root: 0 data, 2 pointers
  PutLittleEndian64(p + 16, (uint64_t{body.size()} << 35) | (uint64_t{2} << 32) | (1 << 2) | 1);
  PutLittleEndian64(p + 24, (uint64_t{64} << 35) | (uint64_t{2} << 32) | (body_words << 2) | 1);
  std::memcpy(p + 32, body.data(), body.size());
  std::memcpy(p + 32 + body.size(), signature.data(), 64);
  return out;
}

}  // namespace

std::string EncodeSignedEvent(ByteSpan body, ByteSpan signature) {
  if (body.size() % 8 == 0 && !body.empty() && signature.size() == 64) {
    return EncodeSignedEventDirect(body, signature);
  }
  capnp::MallocMessageBuilder message(
      static_cast<unsigned>((body.size() + signature.size()) / sizeof(capnp::word) + 8));
  auto root = message.initRoot<schema::SignedEvent>();
  root.setBody(kj::ArrayPtr<const kj::byte>(body.data(), body.size()));
  root.setSignature(kj::ArrayPtr<const kj::byte>(signature.data(), signature.size()));
  kj::Array<capnp::word> words = capnp::canonicalize(root.asReader());
  // Single-segment stream framing: (segment count - 1) = 0, then the segment
  // size in words, both little-endian uint32.
  std::string out(8 + words.size() * sizeof(capnp::word), '\0');
  uint32_t header[2] = {0, static_cast<uint32_t>(words.size())};
  for (int i = 0; i < 2; ++i) {
    for (int b = 0; b < 4; ++b) {
      out[static_cast<size_t>(i * 4 + b)] = static_cast<char>(header[i] >> (8 * b));
    }
  }
  std::memcpy(out.data() + 8, words.begin(), words.size() * sizeof(capnp::word));
  return out;
}

Result<ParsedEvent> ParsedEvent::Parse(ByteSpan bytes) {
  if (bytes.size() > kMaxSignedEventBytes) {
    return Status::Corruption("signed event larger than " + std::to_string(kMaxSignedEventBytes));
  }
  if (bytes.size() < 16 || bytes.size() % sizeof(capnp::word) != 0) {
    return Status::Corruption("signed event is not a whole number of Cap'n Proto words");
  }
  // One segment only, and the segment table must describe exactly the bytes.
  uint32_t count_minus_one = 0, words = 0;
  for (int b = 0; b < 4; ++b) {
    count_minus_one |= static_cast<uint32_t>(bytes[static_cast<size_t>(b)]) << (8 * b);
    words |= static_cast<uint32_t>(bytes[static_cast<size_t>(4 + b)]) << (8 * b);
  }
  if (count_minus_one != 0) return Status::Corruption("signed event must have one segment");
  if (uint64_t{words} * sizeof(capnp::word) + 8 != bytes.size()) {
    return Status::Corruption("signed event segment size does not match its length");
  }
  ParsedEvent p;
  p.state_ = std::make_unique<State>();
  State& s = *p.state_;
  try {
    s.signed_words = CopyToWords(bytes);
    s.signed_reader = std::make_unique<capnp::FlatArrayMessageReader>(
        kj::ArrayPtr<const capnp::word>(s.signed_words.begin(), s.signed_words.size()),
        Limits());
    if (!s.signed_reader->isCanonical()) {
      return Status::Corruption("signed event is not in canonical form");
    }
    auto root = s.signed_reader->getRoot<schema::SignedEvent>();
    if (!root.hasBody() || !root.hasSignature()) {
      return Status::Corruption("signed event lacks a body or a signature");
    }
    auto body = root.getBody();
    auto sig = root.getSignature();
    p.body_ = ByteSpan(body.begin(), body.size());
    p.signature_ = ByteSpan(sig.begin(), sig.size());
    if (p.body_.size() % sizeof(capnp::word) != 0 || p.body_.empty()) {
      return Status::Corruption("event body is not a whole number of Cap'n Proto words");
    }
    s.body_words = CopyToWords(p.body_);
    s.body_segment[0] =
        kj::ArrayPtr<const capnp::word>(s.body_words.begin(), s.body_words.size());
    s.body_reader = std::make_unique<capnp::SegmentArrayMessageReader>(
        kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(s.body_segment, 1), Limits());
    if (!s.body_reader->isCanonical()) {
      return Status::Corruption("event body is not in canonical form");
    }
    p.event_ = s.body_reader->getRoot<schema::Event>();
    // Touch the header fields once so that structural damage surfaces here.
    (void)p.event_.getLogId();
    (void)p.event_.getPrevHash();
    (void)p.event_.getKind().which();
  } catch (const kj::Exception& e) {
    return Status::Corruption(std::string("signed event does not decode: ") +
                              e.getDescription().cStr());
  }
  return p;
}

std::string_view KindName(schema::Event::Kind::Which k) {
  using Kind = schema::Event::Kind::Which;
  switch (k) {
    case Kind::UNSET: return "unset";
    case Kind::CERTIFICATE_ISSUED: return "certificateIssued";
    case Kind::ISSUANCE_REJECTED: return "issuanceRejected";
    case Kind::BATCH_AUTHORIZED: return "batchAuthorized";
    case Kind::BATCH_CLOSED: return "batchClosed";
    case Kind::CERTIFICATE_REVOKED: return "certificateRevoked";
    case Kind::CRL_PUBLISHED: return "crlPublished";
    case Kind::CA_REGISTERED: return "caRegistered";
    case Kind::CHECKPOINT_COSIGNED: return "checkpointCosigned";
    case Kind::SYNC_SESSION: return "syncSession";
    case Kind::LOG_ANOMALY: return "logAnomaly";
    case Kind::TEST_EVENT: return "testEvent";
    case Kind::FACTORY_REGISTERED: return "factoryRegistered";
    case Kind::FACTORY_REMOVED: return "factoryRemoved";
    case Kind::RELAYED: return "relayed";
    case Kind::LOG_KEY_ROTATED: return "logKeyRotated";
    case Kind::COSIGNER_KEY_SET: return "cosignerKeySet";
  }
  return "an unknown kind";
}

}  // namespace mirrorca::log
