#!/usr/bin/env python3
"""check_profile.py PROFILE CHAIN.pem... — checks device certificates against
the mirrorca profile rules using Python `cryptography` only (no mirrorca
code): idevid (IEEE 802.1AR), matter-dac (Matter DAC), iec62443. Prints one
line per failure and exits 1 if any certificate fails."""
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

HW_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")
MATTER_VID = x509.ObjectIdentifier("1.3.6.1.4.1.37244.2.1")
MATTER_PID = x509.ObjectIdentifier("1.3.6.1.4.1.37244.2.2")


def der_tlv(data, pos):
    """Minimal DER reader for the otherName value: returns (tag, value, next)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, data[pos:pos + length], pos + length


def validity(cert):
    """(notBefore, notAfter) as naive UTC datetimes on old and new cryptography."""
    nb = getattr(cert, "not_valid_before_utc", None)
    na = getattr(cert, "not_valid_after_utc", None)
    if nb is None:
        return cert.not_valid_before, cert.not_valid_after
    return nb.replace(tzinfo=None), na.replace(tzinfo=None)


def ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def common(cert, issuer, errors):
    if cert.version != x509.Version.v3:
        errors.append("not X.509 v3")
    serial = cert.serial_number
    if serial <= 0 or serial.bit_length() < 64 or (serial.bit_length() + 8) // 8 > 20:
        errors.append(f"serial {serial:x} not positive, >= 64 bits and <= 20 octets")
    skid = ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    akid = ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if skid is None or akid is None:
        errors.append("SKID and AKID required")
    else:
        issuer_skid = ext(issuer, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        if issuer_skid and akid.value.key_identifier != issuer_skid.value.digest:
            errors.append("AKID does not match the issuer's SKID")
    ku = ext(cert, ExtensionOID.KEY_USAGE)
    if ku is None or not ku.critical:
        errors.append("keyUsage must be present and critical")
    elif not ku.value.digital_signature or ku.value.key_cert_sign or ku.value.crl_sign:
        errors.append("keyUsage must be digitalSignature without CA usages")
    if cert.issuer != issuer.subject:
        errors.append("issuer name does not match the CA subject")
    if isinstance(issuer.public_key(), ec.EllipticCurvePublicKey):
        issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                   ec.ECDSA(cert.signature_hash_algorithm))


def check_idevid(cert, device, errors):
    sn = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(sn) != 1 or sn[0].value != device:
        errors.append(f"subject serialNumber must be the device serial {device}")
    if validity(cert)[1] != datetime.datetime(9999, 12, 31, 23, 59, 59):
        errors.append("notAfter must be 99991231235959Z")
    # GeneralizedTime for 9999: tag 0x18 in the TBS validity.
    if b"\x18\x0f99991231235959Z" not in cert.tbs_certificate_bytes:
        errors.append("notAfter must be encoded as GeneralizedTime")
    bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is not None and bc.value.ca:
        errors.append("must not be a CA")
    san = ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    others = [n for n in san.value if isinstance(n, x509.OtherName)] if san else []
    hw = [n for n in others if n.type_id == HW_MODULE_NAME]
    if len(hw) != 1:
        errors.append("SAN must hold one hardwareModuleName otherName")
        return
    tag, seq, _ = der_tlv(hw[0].value, 0)
    if tag != 0x30:
        errors.append("hardwareModuleName is not a SEQUENCE")
        return
    tag1, _, nxt = der_tlv(seq, 0)
    tag2, serial, _ = der_tlv(seq, nxt)
    if tag1 != 0x06 or tag2 != 0x04 or serial.decode() != device:
        errors.append("hardwareModuleName must be (hwType OID, hwSerialNum = device serial)")


def check_matter(cert, device, errors):
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        errors.append("Matter DAC key must be P-256")
    if cert.signature_algorithm_oid.dotted_string != "1.2.840.10045.4.3.2":
        errors.append("Matter DAC must be signed with ecdsa-with-SHA256")
    for oid, name in ((MATTER_VID, "VID"), (MATTER_PID, "PID")):
        attrs = cert.subject.get_attributes_for_oid(oid)
        v = attrs[0].value if attrs else ""
        if len(attrs) != 1 or len(v) != 4 or v != v.upper() or any(c not in "0123456789ABCDEF" for c in v):
            errors.append(f"subject {name} must be 4 upper-case hex digits, got {v!r}")
    bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is None or not bc.critical or bc.value.ca:
        errors.append("basicConstraints must be critical CA:false")
    ku = ext(cert, ExtensionOID.KEY_USAGE)
    if ku is not None and (ku.value.key_agreement or ku.value.key_encipherment or ku.value.content_commitment):
        errors.append("keyUsage must be digitalSignature only")
    for oid in (ExtensionOID.SUBJECT_KEY_IDENTIFIER, ExtensionOID.AUTHORITY_KEY_IDENTIFIER):
        e = ext(cert, oid)
        ident = e.value.digest if oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER else e.value.key_identifier
        if len(ident) != 20:
            errors.append(f"{oid._name} must be 20 bytes")


def check_iec62443(cert, device, errors):
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cn) != 1 or cn[0].value != device:
        errors.append("CN must be the device serial")
    bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is None or bc.value.ca:
        errors.append("basicConstraints CA:false required")
    nb, na = validity(cert)
    if na <= nb:
        errors.append("empty validity")


CHECKS = {"idevid": check_idevid, "matter-dac": check_matter, "iec62443": check_iec62443}


def main():
    profile, files = sys.argv[1], sys.argv[2:]
    failed = 0
    for path in files:
        chain = x509.load_pem_x509_certificates(open(path, "rb").read())
        cert, issuer = chain[0], chain[1]
        device = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        errors = []
        try:
            common(cert, issuer, errors)
            CHECKS[profile](cert, device, errors)
        except Exception as e:  # a parse failure is a failure of the profile
            errors.append(f"exception: {e!r}")
        for e in errors:
            print(f"{path}: {e}")
        failed += bool(errors)
    print(f"checked {len(files)} certificates against {profile}: {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
