#!/usr/bin/env python3
"""An independent verifier of a mirrorca event log export, written from
docs/event_log_format.md alone: it shares no code with mirrorca. It uses
hashlib for SHA-256 and the `openssl` command-line tool for Ed25519.

usage: independent_verifier.py EXPORT.jsonl CHECKPOINT.txt VERIFIER_KEY PROOF.json CONS.json OLD_CHECKPOINT.txt

Checks: every signed_event's framing and its (body, signature) fields; the
event signatures (a sample, to keep process spawns few, plus every key
rotation); the chain of keys (a logKeyRotated event, signed by the key in
force, hands every later event and every checkpoint of a tree that includes
it to its new key; VERIFIER_KEY is the log's first key); the prevHash chain;
the RFC 9162 root against the signed checkpoint; the checkpoint signature;
an inclusion proof and a consistency proof. Exits non-zero on any mismatch.
"""
import base64, hashlib, json, os, struct, subprocess, sys, tempfile


def fail(msg):
    print("independent verifier: FAIL:", msg)
    sys.exit(1)


# --- Cap'n Proto: just enough to read a struct's pointers and data words ---
def read_struct(words, ptr_index):
    """Decode the struct pointer at word `ptr_index`; return (data_start, data_words, ptr_start, ptr_count)."""
    (p,) = struct.unpack_from("<Q", words, ptr_index * 8)
    if p & 3 != 0:
        fail("expected a struct pointer")
    offset = (p >> 2) & 0x3FFFFFFF
    if offset & 0x20000000:
        offset -= 0x40000000
    data_words = (p >> 32) & 0xFFFF
    ptr_count = (p >> 48) & 0xFFFF
    start = ptr_index + 1 + offset
    return start, data_words, start + data_words, ptr_count


def read_bytes(words, ptr_index):
    (p,) = struct.unpack_from("<Q", words, ptr_index * 8)
    if p == 0:
        return b""
    if p & 3 != 1 or ((p >> 32) & 7) != 2:
        fail("expected a byte list pointer")
    offset = (p >> 2) & 0x3FFFFFFF
    if offset & 0x20000000:
        offset -= 0x40000000
    count = p >> 35
    start = (ptr_index + 1 + offset) * 8
    return bytes(words[start:start + count])


def parse_signed_event(raw):
    seg_count_minus_one, seg_words = struct.unpack_from("<II", raw, 0)
    if seg_count_minus_one != 0 or 8 + seg_words * 8 != len(raw):
        fail("signed_event framing")
    seg = raw[8:]
    _, _, ptrs, nptr = read_struct(seg, 0)
    if nptr < 2:
        fail("SignedEvent needs 2 pointers")
    return read_bytes(seg, ptrs), read_bytes(seg, ptrs + 1)


def parse_event_header(body):
    data, ndata, ptrs, nptr = read_struct(body, 0)
    seq, time = struct.unpack_from("<Qq", body, data * 8)
    log_id = read_bytes(body, ptrs).rstrip(b"\0").decode()  # Text: NUL-terminated byte list
    prev = read_bytes(body, ptrs + 1)
    return log_id, seq, time, prev


LOG_KEY_ROTATED = 15  # the kind union's discriminant of logKeyRotated (@19, the 16th member)


def rotation_key(body):
    """The newKey text of a logKeyRotated event, or None for any other kind.
    Event layout: data word 2 holds the union discriminant (UInt16); the
    union's struct pointer is pointer 2; LogKeyRotated's newKey is its pointer 0."""
    data, ndata, ptrs, nptr = read_struct(body, 0)
    if ndata < 3 or nptr < 3:
        return None
    (which,) = struct.unpack_from("<H", body, (data + 2) * 8)
    if which != LOG_KEY_ROTATED:
        return None
    _, _, kptrs, knptr = read_struct(body, ptrs + 2)
    if knptr < 1:
        fail("logKeyRotated without newKey")
    return read_bytes(body, kptrs).rstrip(b"\0").decode()


def parse_verifier_key(vkey):
    name, key_id_hex, key_b64 = vkey.strip().split("+", 2)
    typed = base64.b64decode(key_b64)
    if typed[0] != 1 or len(typed) != 33:
        fail("key type")
    pub = typed[1:]
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    if key_id.hex() != key_id_hex:
        fail("key id")
    return name, key_id, pub


def key_at(keys, x):
    """The (key_id, pub) in force for event seq x and checkpoints of tree size x."""
    current = keys[0]
    for k in keys:
        if k[0] <= x:
            current = k
    return current[1], current[2]


# --- RFC 9162 ---
def leaf_hash(b):
    return hashlib.sha256(b"\x00" + b).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, root1, root2, proof):
    if m == n:
        return not proof and root1 == root2
    if m & (m - 1) == 0:
        proof = [root1] + proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# --- Ed25519 via the openssl CLI ---
def ed25519_verify(pub, msg, sig, tmp):
    der = bytes.fromhex("302a300506032b6570032100") + pub
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"
    paths = {n: os.path.join(tmp, n) for n in ("pub.pem", "msg", "sig")}
    open(paths["pub.pem"], "w").write(pem)
    open(paths["msg"], "wb").write(msg)
    open(paths["sig"], "wb").write(sig)
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths["pub.pem"], "-rawin",
                        "-in", paths["msg"], "-sigfile", paths["sig"]], capture_output=True)
    return r.returncode == 0


def checkpoint_size(note):
    return int(note.split("\n")[1])


def open_checkpoint(note, name, key_id, pub, tmp):
    text, sigs = note.split("\n\n", 1)
    text += "\n"
    for line in sigs.strip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            fail("signature line")
        signer, blob = line[2:].split(" ")
        blob = base64.b64decode(blob)
        if signer == name and blob[:4] == key_id:
            if not ed25519_verify(pub, text.encode(), blob[4:], tmp):
                fail("checkpoint signature")
            origin, size, root = text.split("\n")[:3]
            if origin != name:
                fail("checkpoint origin")
            return int(size), base64.b64decode(root)
    fail("no checkpoint signature by the log key")


def main():
    export, cp_path, vkey, proof_path, cons_path, old_cp_path = sys.argv[1:7]
    name, key_id, pub = parse_verifier_key(vkey)
    keys = [(0, key_id, pub)]  # (first seq, key id, public key)
    tmp = tempfile.mkdtemp()
    leaves, prev, last_time = [], bytes(32), -(2**63)
    lines = open(export).read().splitlines()
    for i, line in enumerate(lines):
        rec = json.loads(line)
        raw = base64.b64decode(rec["signed_event"])
        body, sig = parse_signed_event(raw)
        if body != base64.b64decode(rec["body"]) or sig != base64.b64decode(rec["signature"]):
            fail(f"seq {i}: body/signature fields differ from signed_event")
        log_id, seq, time, prev_hash = parse_event_header(body)
        if seq != i or rec["seq"] != i:
            fail(f"seq {i}: event claims {seq}")
        if log_id != name:
            fail(f"seq {i}: log id {log_id}")
        if prev_hash != prev:
            fail(f"seq {i}: prevHash chain broken")
        if time < last_time:
            fail(f"seq {i}: time goes backwards")
        next_key = rotation_key(body)
        if i < 5 or i == len(lines) - 1 or i % 97 == 0 or next_key is not None:
            if not ed25519_verify(key_at(keys, i)[1], b"mirrorca-event-v1\x00" + body, sig, tmp):
                fail(f"seq {i}: signature")
        if next_key is not None:
            new_name, new_id, new_pub = parse_verifier_key(next_key)
            if new_name != name or any(k[2] == new_pub for k in keys):
                fail(f"seq {i}: a key rotation to another log's key or to a key used before")
            keys.append((i + 1, new_id, new_pub))
        prev, last_time = hashlib.sha256(body).digest(), time
        leaves.append(leaf_hash(raw))
    size = checkpoint_size(open(cp_path).read())
    size, root = open_checkpoint(open(cp_path).read(), name, *key_at(keys, size), tmp)
    if size != len(leaves) or mth(leaves) != root:
        fail("checkpoint root differs from the exported events")
    proof = json.load(open(proof_path))
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    idx, n = proof["leaf_index"], proof["tree_size"]
    if bytes.fromhex(proof["leaf_hash"]) != leaves[idx]:
        fail("proof leaf hash")
    if not verify_inclusion(idx, n, leaves[idx], hashes, mth(leaves[:n])):
        fail("inclusion proof")
    cons = json.load(open(cons_path))
    m, n2 = cons["first"], cons["second"]
    old_text = open(old_cp_path).read()
    old_size, old_root = open_checkpoint(old_text, name, *key_at(keys, checkpoint_size(old_text)), tmp)
    if old_size != m or old_root != mth(leaves[:m]):
        fail("old checkpoint")
    if not verify_consistency(m, n2, old_root, mth(leaves[:n2]), [bytes.fromhex(h) for h in cons["hashes"]]):
        fail("consistency proof")
    print(f"independent verifier: OK {len(leaves)} events, {len(keys) - 1} key rotations, root {root.hex()}")


if __name__ == "__main__":
    main()
