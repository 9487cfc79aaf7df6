#!/usr/bin/env python3
"""An independent checker of a mirrorca issuance proof (.tlog-proof), written
from docs/proof_format.md and docs/event_log_format.md: no mirrorca code, only
hashlib, base64 and the `openssl` command line (Ed25519), plus the Cap'n Proto
and RFC 9162 helpers of independent_verifier.py (also independent).

usage: independent_proof_check.py PROOF LOG_VKEY COSIGNER_VKEY CERT.der
Exits 0 and prints "independent proof check: OK ..." when the proof holds.
"""
import base64, hashlib, struct, sys, tempfile

from independent_verifier import (ed25519_verify, fail, leaf_hash, open_checkpoint,
                                  parse_signed_event, read_bytes, read_struct, verify_inclusion)


def parse_vkey(vkey, sig_type):
    name, key_id_hex, key_b64 = vkey.strip().split("+", 2)
    typed = base64.b64decode(key_b64)
    if typed[0] != 1:
        fail("key type")
    pub = typed[1:]
    if hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4].hex() != key_id_hex:
        fail("key id")
    key_id = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + pub).digest()[:4]
    return name, key_id, pub


def main():
    proof_path, log_vkey, cosigner_vkey, cert_path = sys.argv[1:5]
    text = open(proof_path, encoding="utf-8").read()
    head, note = text.split("\n\n", 1)
    lines = head.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1" or not lines[1].startswith("extra ") \
            or not lines[2].startswith("index "):
        fail("proof header")
    leaf = base64.b64decode(lines[1][6:], validate=True)
    index = int(lines[2][6:])
    hashes = [base64.b64decode(h, validate=True) for h in lines[3:]]
    tmp = tempfile.mkdtemp()
    # 1. The checkpoint, signed by the factory log key.
    name, key_id, pub = parse_vkey(log_vkey, 0x01)
    size, root = open_checkpoint(note, name, key_id, pub, tmp)
    # 2. HQ's cosignature: key id with type 0x04, blob = key id || u64 BE time || signature.
    cname, ckey_id, cpub = parse_vkey(cosigner_vkey, 0x04)
    checkpoint_text = note.split("\n\n", 1)[0] + "\n"
    cosigned = False
    for line in note.split("\n\n", 1)[1].strip("\n").split("\n"):
        signer, blob = line[2:].split(" ")
        blob = base64.b64decode(blob)
        if signer == cname and blob[:4] == ckey_id:
            (when,) = struct.unpack(">Q", blob[4:12])
            msg = f"cosignature/v1\ntime {when}\n".encode() + checkpoint_text.encode()
            if not ed25519_verify(cpub, msg, blob[12:], tmp):
                fail("cosignature")
            cosigned = True
    if not cosigned:
        fail("no cosignature by " + cname)
    # 3. The leaf in the checkpointed tree.
    if index >= size or not verify_inclusion(index, size, leaf_hash(leaf), hashes, root):
        fail("inclusion proof")
    # 4. The event's own signature.
    body, sig = parse_signed_event(leaf)
    if not ed25519_verify(pub, b"mirrorca-event-v1\x00" + body, sig, tmp):
        fail("event signature")
    # 5. Event{logId ptr 0, seq data word 0, kind: discriminant u16 at data word 2
    #    (1 = certificateIssued), struct at pointer 2}; CertificateIssued.certificate
    #    is its pointer 5.
    data, _, ptrs, _ = read_struct(body, 0)
    (seq,) = struct.unpack_from("<Q", body, data * 8)
    (which,) = struct.unpack_from("<H", body, (data + 2) * 8)
    log_id = read_bytes(body, ptrs).rstrip(b"\0").decode()
    if log_id != name or seq != index or which != 1:
        fail("not the certificateIssued event of this log at this index")
    _, _, issued_ptrs, _ = read_struct(body, ptrs + 2)
    if read_bytes(body, issued_ptrs + 5) != open(cert_path, "rb").read():
        fail("the event issued another certificate")
    print(f"independent proof check: OK {name} seq {index} in tree {size}, cosigned by {cname}")


if __name__ == "__main__":
    main()
