# replication.capnp — the messages of a mirrorca sync session and of an
# offline bundle (docs/replication_protocol.md).
#
# Every frame on the wire (and in a bundle file) is one Message in the Cap'n
# Proto stream format: a segment table (u32 little-endian segment count - 1,
# u32 size of each segment in words, padding to 8 bytes) followed by the
# segments. Readers bound a frame to kMaxFrameBytes before reading it.
#
# Evolution rule (as events.capnp): fields and union members are only ever
# appended.

@0xe0da74a4bedc25af;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mirrorca::replication::wire");

enum Role {
  factory @0;   # the node that writes a factory log (the connecting side)
  hq @1;        # the HQ mirror
  mirror @2;    # a validation authority following HQ: it only reads (docs/replication_protocol.md §10)
  recovery @3;  # a factory fetching HQ's copy of its own log after losing its disk (§11)
}

# Hello opens each round. The sender names its own log and how much of the
# peer's log it holds; the answer tells the sender where to resume.
struct Hello {
  protocolVersion @0 :UInt32;   # 1
  role @1 :Role;
  ownLog @2 :Text;              # origin of the sender's own log
  ownSize @3 :UInt64;           # events in it
  peerLog @4 :Text;             # origin of the peer log the sender mirrors
  peerCopySize @5 :UInt64;      # events of the peer log the sender holds
  cosignedSize @6 :UInt64;      # HQ only: size of the largest factory checkpoint
                                # it has cosigned (0 if none)
}

# CheckpointOffer: the sender's signed checkpoint (C2SP tlog-checkpoint) and
# the RFC 9162 consistency proof from the size the receiver holds.
struct CheckpointOffer {
  note @0 :Text;
  proofFrom @1 :UInt64;         # the size the proof starts from
  consistency @2 :List(Data);   # 32-byte hashes; empty when proofFrom is 0 or the tree size
}

# Package: consecutive events, zstd-compressed, with the consistency proof
# from the tree ending after them to the offered checkpoint, so the receiver
# verifies every package before it stores it.
struct Package {
  firstSeq @0 :UInt64;
  count @1 :UInt32;
  rawSize @2 :UInt32;           # bytes of `entries` after decompression
  entries @3 :Data;             # one zstd frame of count x (u32 big-endian length || SignedEvent)
  consistency @4 :List(Data);   # proof firstSeq+count -> checkpoint size (empty at the end)
}

# Commit ends a transfer: every entry up to treeSize was sent.
struct Commit {
  treeSize @0 :UInt64;
}

# Cosigned: HQ's answer to a factory transfer — the checkpoint it stored,
# with HQ's C2SP tlog-cosignature line.
struct Cosigned {
  note @0 :Text;
}

# Ack: the factory's answer to HQ's transfer.
struct Ack {
  copySize @0 :UInt64;
}

# Refusal ends the session: nothing of the refused step was applied.
struct Refusal {
  code @0 :Text;                # "fork" | "rewind" | "bad-signature" | "gap" | "bad-proof" |
                                # "malformed" | "identity" | "busy" | "version" | "internal"
  detail @1 :Text;
}

struct Bye {}

# BundleHeader opens a bundle file; BundleEnd closes it.
struct BundleHeader {
  formatVersion @0 :UInt32;     # 1
  log @1 :Text;                 # origin of the log the bundle carries
  fromSize @2 :UInt64;          # first seq carried
  createdAt @3 :Int64;          # µs since the epoch
  creator @4 :Text;             # origin of the exporting node's own log
}

struct BundleEnd {
  sha256 @0 :Data;              # SHA-256 of every byte of the file before this frame
}

struct Message {
  union {
    hello @0 :Hello;
    checkpoint @1 :CheckpointOffer;
    package @2 :Package;
    commit @3 :Commit;
    cosigned @4 :Cosigned;
    ack @5 :Ack;
    refusal @6 :Refusal;
    bye @7 :Bye;
    bundleHeader @8 :BundleHeader;
    bundleEnd @9 :BundleEnd;
  }
}
