// Event byte rules (docs/event_log_format.md):
//  - body: the canonical Cap'n Proto encoding of an Event (one segment, no
//    segment table);
//  - signing input: "mirrorca-event-v1" || 0x00 || body, signed with Ed25519;
//  - signed event: the SignedEvent message in canonical form, framed as a
//    single-segment Cap'n Proto stream message (8-byte segment table, then the
//    canonical words). These exact bytes are stored, exported and hashed into
//    the Merkle tree as leaves.
//
// ParsedEvent decodes stored bytes defensively: bounded traversal limits,
// canonical form required, every kj::Exception turned into a Status.
//
// Thread-safety: pure functions; a ParsedEvent is immutable after Parse.
#ifndef MIRRORCA_LOG_EVENT_CODEC_H_
#define MIRRORCA_LOG_EVENT_CODEC_H_

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "log/events.capnp.h"
#include "log/crypto_names.h"

namespace mirrorca::log {

constexpr std::string_view kEventSignatureContext = "mirrorca-event-v1";
constexpr size_t kMaxSignedEventBytes = 1 << 20;  // 1 MiB: far above any certificate event

// KindName: the schema name of an event kind ("certificateIssued", ...).
std::string_view KindName(schema::Event::Kind::Which kind);

// EventSigningInput returns the bytes an event signature covers.
Bytes EventSigningInput(ByteSpan body);

// EncodeCanonicalBody returns the canonical encoding of `event`. InvalidArgument
// if the event cannot be encoded (e.g. the kind is unset).
Result<std::string> EncodeCanonicalBody(schema::Event::Reader event);

// EncodeSignedEvent returns the stored bytes of SignedEvent{body, signature}.
std::string EncodeSignedEvent(ByteSpan body, ByteSpan signature);

// BodyHash returns SHA-256(body): the prevHash of the next event.
inline Hash BodyHash(ByteSpan body) { return Sha256(body); }

class ParsedEvent {
 public:
  // Parse decodes stored signed-event bytes. Corruption if they are not a
  // canonical single-segment SignedEvent whose body is a canonical Event.
  static Result<ParsedEvent> Parse(ByteSpan signed_event);

  ParsedEvent(ParsedEvent&&) = default;
  ParsedEvent& operator=(ParsedEvent&&) = default;

  ByteSpan body() const { return body_; }
  ByteSpan signature() const { return signature_; }
  schema::Event::Reader event() const { return event_; }
  uint64_t seq() const { return event_.getSeq(); }

 private:
  ParsedEvent() = default;
  // Readers keep pointers into the word arrays and the segment table, so the
  // whole decoding state lives at one stable heap address.
  struct State {
    kj::Array<capnp::word> signed_words;
    kj::Array<capnp::word> body_words;
    kj::ArrayPtr<const capnp::word> body_segment[1];
    std::unique_ptr<capnp::FlatArrayMessageReader> signed_reader;
    std::unique_ptr<capnp::SegmentArrayMessageReader> body_reader;
  };
  std::unique_ptr<State> state_;
  ByteSpan body_;
  ByteSpan signature_;
  schema::Event::Reader event_;
};

}  // namespace mirrorca::log

#endif  // MIRRORCA_LOG_EVENT_CODEC_H_
