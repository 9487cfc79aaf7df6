# events.capnp — the mirrorca event schema.
#
# Every fact in mirrorca is one Event, signed and stored as a SignedEvent.
# Evolution rule: fields and union members are only ever appended (new
# ordinals); nothing is renamed in meaning, reused or removed. Readers accept
# events written by every earlier version forever.
#
# Byte rules (docs/event_log_format.md): `SignedEvent.body` is the canonical
# Cap'n Proto encoding of an Event (single segment, no segment table);
# `SignedEvent.signature` is Ed25519 over "mirrorca-event-v1" || 0x00 || body.
#
# Times are Int64 microseconds since the Unix epoch, UTC, unless the field
# name says otherwise. Hashes are 32-byte SHA-256 values.

@0xf7898a2e00242b3c;

$import "/capnp/c++.capnp".namespace("mirrorca::log::schema");

struct SignedEvent {
  body @0 :Data;
  signature @1 :Data;
}

# Why an issuance was refused (issuanceRejected.reason).
enum RejectionReason {
  unspecified @0;
  badCsr @1;                # CSR does not parse
  proofOfPossession @2;     # CSR signature does not verify
  keyNotAllowed @3;         # algorithm, curve or size not allowed by the profile
  subjectNotAllowed @4;     # device data violates the profile
  duplicateDevice @5;       # device serial already certified by this CA
  unknownBatch @6;
  batchClosed @7;
  batchNotYetValid @8;
  batchExpired @9;
  quotaExhausted @10;
  raNotAuthorized @11;
  internalError @12;
  duplicateKey @13;         # the public key is already certified for another device of this factory
  certificateRevoked @14;   # a renewal names a certificate HQ revoked or put on hold (as delivered to the factory)
}

# RFC 5280 §5.3.1 CRLReason values (numbering follows the RFC: 7 is unused).
enum RevocationReason {
  unspecified @0;
  keyCompromise @1;
  caCompromise @2;
  affiliationChanged @3;
  superseded @4;
  cessationOfOperation @5;
  certificateHold @6;
  unused7 @7;
  removeFromCrl @8;
  privilegeWithdrawn @9;
  aaCompromise @10;
}

enum CaRole {
  root @0;
  issuing @1;
  ocspResponder @2;
  tlsServer @3;
  tlsClient @4;
}

struct CertificateIssued {
  caId @0 :Data;              # SHA-256 of the issuing CA certificate's SubjectPublicKeyInfo
  serial @1 :Data;            # certificate serial number, big-endian, as in the DER INTEGER
  deviceSerial @2 :Text;      # the device's own serial (subject serialNumber)
  batchId @3 :Text;
  profile @4 :Text;           # idevid | matter-dac | iec62443 | ...
  certificate @5 :Data;       # the issued certificate, DER
  notBefore @6 :Int64;
  notAfter @7 :Int64;
  raId @8 :Text;              # the RA identity that asked
  requestHash @9 :Data;       # SHA-256 of the request (CSR DER, or keygen request)
  serverGeneratedKey @10 :Bool;
  productionLine @11 :Text;
  reissueOf @12 :Data;        # serial of the certificate this one re-issues, if any
  publicKeyHash @13 :Data;    # SHA-256 of the subject's SubjectPublicKeyInfo (one key, one device)
}

struct IssuanceRejected {
  batchId @0 :Text;
  deviceSerial @1 :Text;
  raId @2 :Text;
  reason @3 :RejectionReason;
  detail @4 :Text;            # operator-facing explanation, never secrets
  requestHash @5 :Data;
  productionLine @6 :Text;
}

struct BatchAuthorized {
  batchId @0 :Text;
  profile @1 :Text;
  product @2 :Text;           # model name, or "VID/PID" for Matter
  vendorId @3 :UInt16;
  productId @4 :UInt16;
  quota @5 :UInt64;
  notBefore @6 :Int64;
  notAfter @7 :Int64;
  factoryLogId @8 :Text;      # the factory log (origin) this batch is for
  allowedRas @9 :List(Text);  # RA identities allowed to enroll in this batch; empty = all of the factory's
  allowReissue @10 :List(Text); # device serials explicitly allowed a second certificate
  caId @11 :Data;             # issuing CA expected to sign this batch
}

struct BatchClosed {
  batchId @0 :Text;
  issuedCount @1 :UInt64;
  rejectedCount @2 :UInt64;
  reason @3 :Text;
}

struct CertificateRevoked {
  caId @0 :Data;
  serial @1 :Data;
  reason @2 :RevocationReason;
  revocationTime @3 :Int64;
  invalidityDate @4 :Int64;   # 0 when absent
  release @5 :Bool;           # true: releases a certificateHold (removeFromCrl)
  batchId @6 :Text;           # set when the revocation covers a whole batch
  requestedBy @7 :Text;       # admin identity
}

struct CrlPublished {
  caId @0 :Data;
  crlNumber @1 :UInt64;
  thisUpdate @2 :Int64;
  nextUpdate @3 :Int64;
  isDelta @4 :Bool;
  baseCrlNumber @5 :UInt64;
  crlHash @6 :Data;           # SHA-256 of the DER CRL
  entryCount @7 :UInt64;
}

struct CaRegistered {
  caId @0 :Data;
  role @1 :CaRole;
  certificate @2 :Data;       # DER
  name @3 :Text;
}

struct CheckpointCosigned {
  logId @0 :Text;             # origin of the log whose checkpoint is cosigned
  treeSize @1 :UInt64;
  rootHash @2 :Data;
  cosignedNote @3 :Text;      # the checkpoint with its cosignature line(s), C2SP text
  timestamp @4 :UInt64;       # seconds, as in the C2SP tlog-cosignature
}

struct SyncSession {
  peerLogId @0 :Text;
  direction @1 :Text;         # "push" | "pull" | "bundle-import" | "bundle-export"
  eventsSent @2 :UInt64;
  eventsReceived @3 :UInt64;
  peerTreeSize @4 :UInt64;
  result @5 :Text;            # "ok" or the failure reason
}

struct LogAnomaly {
  peerLogId @0 :Text;
  kind @1 :Text;              # "fork" | "rewind" | "bad-signature" | "gap" | ...
  detail @2 :Text;
  evidence @3 :List(Text);    # e.g. both conflicting checkpoints
}

# HQ registers a factory in its own log: from then on the factory's log may
# carry issuance events under these CAs, in batches HQ authorizes for it, and
# nothing else (docs/trust_model.md). A later registration of the same origin
# under the same name updates it (a new issuing CA, a new sync key).
struct FactoryRegistered {
  name @0 :Text;              # the factory's name at this HQ: batch namespace (name/batch), CRL and OCSP names
  logOrigin @1 :Text;         # the factory log's origin
  logKey @2 :Text;            # C2SP verifier key of the factory log
  caCertificates @3 :List(Data);  # every issuing CA it has had, DER, the current one last; caId = SHA-256 of each SPKI
  syncSpki @4 :List(Text);    # SHA-256 (hex) of the TLS keys bound to the log
  caKeyFingerprint @5 :Data;  # SHA-256 of the current CA's key, of which HQ holds a copy (empty: none)
}

# HQ stops trusting a factory's log for new events: its sync and bundles are
# refused from then on; what it issued before stays as it was.
struct FactoryRemoved {
  logOrigin @0 :Text;
  reason @1 :Text;
}

# An HQ-log event relayed into the delivery log of the one factory it is
# addressed to (docs/replication_protocol.md §9): the factory receives what
# HQ addressed to it and nothing else, each event still signed by HQ's log
# key and placed in HQ's log at `hqSeq` (an auditor compares the bytes).
struct Relayed {
  hqSeq @0 :UInt64;           # its position in HQ's log
  signedEvent @1 :Data;       # the SignedEvent bytes exactly as HQ's log stores them
}

# The log's signing key changes (docs/event_log_format.md, "Key rotation").
# Signed by the key in force until now; every later event, and every
# checkpoint of a tree that includes this event, is signed by `newKey`.
struct LogKeyRotated {
  newKey @0 :Text;            # C2SP verifier key of the next key; its name is the log's origin
  reason @1 :Text;            # operator-facing, never secrets
}

# HQ's cosigner key: the key that cosigns factory checkpoints (C2SP
# tlog-cosignature), separate from HQ's log key. In HQ's log only, signed by
# HQ's log key; each one replaces the previous cosigner key from its seq on
# (docs/replication_protocol.md §9: relayed to every factory).
struct CosignerKeySet {
  key @0 :Text;               # C2SP verifier key of the cosigner
  reason @1 :Text;
}

struct TestEvent {
  payload @0 :Data;           # synthetic events for tests, demos and benchmarks
  note @1 :Text;
}

struct Event {
  logId @0 :Text;             # the log's origin (C2SP checkpoint origin line)
  seq @1 :UInt64;             # 0-based position; equals the Merkle leaf index
  time @2 :Int64;             # microseconds since the Unix epoch; non-decreasing along a log
  prevHash @3 :Data;          # SHA-256 of the previous event's body; 32 zero bytes for seq 0

  kind :union {
    unset @4 :Void;           # never valid in a stored event
    certificateIssued @5 :CertificateIssued;
    issuanceRejected @6 :IssuanceRejected;
    batchAuthorized @7 :BatchAuthorized;
    batchClosed @8 :BatchClosed;
    certificateRevoked @9 :CertificateRevoked;
    crlPublished @10 :CrlPublished;
    caRegistered @11 :CaRegistered;
    checkpointCosigned @12 :CheckpointCosigned;
    syncSession @13 :SyncSession;
    logAnomaly @14 :LogAnomaly;
    testEvent @15 :TestEvent;
    factoryRegistered @16 :FactoryRegistered;
    factoryRemoved @17 :FactoryRemoved;
    relayed @18 :Relayed;
    logKeyRotated @19 :LogKeyRotated;
    cosignerKeySet @20 :CosignerKeySet;
  }
}
