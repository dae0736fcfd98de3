"""Verifies every DKIM-Signature of a message with dkimpy, an implementation not ours.

stdin: the message, as received; with argv[2] == "--many", a JSON list of
messages in base64 instead. argv[1]: JSON object mapping DNS names
("selector._domainkey.domain") to TXT record text, served instead of DNS.
stdout: one JSON list, per signature {"ok": bool, "why": str}; with --many, a
list of those lists, one per message.
Exit 3 when dkimpy (or PyNaCl, for Ed25519) cannot be imported.
"""
import json
import sys

try:
    import dkim
    import nacl  # noqa: F401  (dkimpy's Ed25519 needs it)
except ImportError as e:
    print(f"dkimpy or PyNaCl missing: {e}", file=sys.stderr)
    sys.exit(3)

records = {k.lower().rstrip("."): v for k, v in json.loads(sys.argv[1]).items()}


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    record = records.get(name.lower().rstrip("."))
    return record.encode() if record is not None else None


def verify(message):
    try:
        headers = dkim.rfc822_parse(message)[0]
    except Exception as e:  # a message dkimpy cannot even parse
        return [{"ok": False, "why": f"unparsable: {e}"}]
    count = sum(1 for name, _ in headers if name.lower() == b"dkim-signature")
    results = []
    for index in range(count):
        d = dkim.DKIM(message)
        try:
            ok = d.verify(idx=index, dnsfunc=dnsfunc)
            why = "" if ok else "verification failed"
        except dkim.DKIMException as e:
            ok, why = False, f"{type(e).__name__}: {e}"
        results.append({"ok": bool(ok), "why": why})
    return results


if len(sys.argv) > 2 and sys.argv[2] == "--many":
    import base64

    messages = json.loads(sys.stdin.buffer.read())
    print(json.dumps([verify(base64.b64decode(m)) for m in messages]))
else:
    print(json.dumps(verify(sys.stdin.buffer.read())))
