#!/usr/bin/env python3
"""The Python smtplib client of the end-to-end benchmark (standard library only).

Sends the same messages as the other clients (`e2e` writes the message to --message-file) and
prints one JSON line: {"ok": accepted, "failed": refused, "secs": wall time from the first
connect to the last reply}. With --tls-ca and --auth: STARTTLS (certificate checked against the
CA file) and login (AUTH PLAIN) on each connection; Python's ssl does not resume sessions across
connections unless told, and smtplib does not. smtplib does not pipeline: MAIL, each RCPT, DATA
and the content each wait for their reply; the content and its final "." go out in one send().
"""
import argparse
import json
import smtplib
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--rcpts", type=int, default=1)
    p.add_argument("--message-file", required=True)
    p.add_argument("--conn", choices=["one", "each"], default="one")
    p.add_argument("--time-limit", type=float, default=120.0)
    p.add_argument("--tls-ca", help="STARTTLS, the certificate checked against this CA file")
    p.add_argument("--auth", help="AUTH PLAIN (login) as user:password")
    a = p.parse_args()
    context = None
    if a.tls_ca:
        import ssl
        context = ssl.create_default_context(cafile=a.tls_ca)

    with open(a.message_file, "rb") as f:
        message = f.read()
    sender = "sender@bench.example"
    rcpts = [f"rcpt{i}@bench.example" for i in range(a.rcpts)]

    ok = failed = 0
    start = time.monotonic()
    deadline = start + a.time_limit
    smtp = None
    for _ in range(a.messages):
        if time.monotonic() > deadline:
            break
        if smtp is None:
            smtp = smtplib.SMTP("127.0.0.1", a.port, local_hostname="client.bench.example",
                                timeout=30)
            smtp.ehlo()
            if context is not None:
                smtp.starttls(context=context)
                smtp.ehlo()
            if a.auth:
                user, password = a.auth.split(":", 1)
                smtp.login(user, password)
        try:
            refused = smtp.sendmail(sender, rcpts, message)
            ok += 1 if not refused else 0
            failed += 1 if refused else 0
        except smtplib.SMTPException:
            failed += 1
        if a.conn == "each":
            smtp.quit()
            smtp = None
    if smtp is not None:
        smtp.quit()
    secs = time.monotonic() - start
    print(json.dumps({"ok": ok, "failed": failed, "secs": secs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
