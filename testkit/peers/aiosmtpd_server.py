#!/usr/bin/env python3
"""A recording SMTP server for tests, built on aiosmtpd.

Started by smtp-testkit (`Aiosmtpd`). Every accepted message is written to
--out-dir as two files sharing a sequence number:

    000001.eml   the message bytes exactly as received after dot-unstuffing
                 (CRLF line endings as sent by the client, no added headers)
    000001.json  the envelope: mail_from, mail_options, rcpt_tos,
                 rcpt_options, smtp_utf8, auth_login, tls, eml (file name)

The .json is renamed into place after the .eml is complete, so a reader that
waits for N .json files sees N complete messages.

Once listening, prints one line `READY <port>` on stdout and flushes it
(use --port 0 to let the kernel pick a port). Recipients whose local part
starts with "reject" get 550 at RCPT, "tempfail" get 451.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd 1.4 warns about its own use of Session.login_data.
warnings.filterwarnings("ignore", message=".*login_data is deprecated.*")


class Recorder:
    def __init__(self, out_dir, auth):
        self.out_dir = out_dir
        self.auth = auth
        self.seq = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not self.auth:
            # aiosmtpd advertises AUTH even without an authenticator.
            responses = [r for r in responses if not r[4:].startswith("AUTH")]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: recipient rejected" % address
        if local.startswith("tempfail"):
            return "451 4.3.0 <%s>: temporary failure" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.seq += 1
        if self.out_dir is None:
            sys.stdout.write(
                "MESSAGE %s\n"
                % json.dumps(self._meta(session, envelope, None), ensure_ascii=True)
            )
            sys.stdout.flush()
            return "250 2.0.0 OK queued as %06d" % self.seq
        name = "%06d" % self.seq
        eml = os.path.join(self.out_dir, name + ".eml")
        with open(eml, "wb") as f:
            f.write(envelope.original_content)
        meta = self._meta(session, envelope, name + ".eml")
        tmp = os.path.join(self.out_dir, "." + name + ".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=True, indent=1)
        os.rename(tmp, os.path.join(self.out_dir, name + ".json"))
        return "250 2.0.0 OK queued as %s" % name

    @staticmethod
    def _meta(session, envelope, eml):
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        return {
            "mail_from": envelope.mail_from,
            "mail_options": list(envelope.mail_options),
            "rcpt_tos": list(envelope.rcpt_tos),
            "rcpt_options": list(envelope.rcpt_options),
            "smtp_utf8": bool(envelope.smtp_utf8),
            "auth_login": login,
            "tls": session.ssl is not None,
            "size": len(envelope.original_content or b""),
            "eml": eml,
        }


def make_authenticator(user, password):
    want = (user.encode("utf-8"), password.encode("utf-8"))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and (auth_data.login, auth_data.password) == want
        )
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    return authenticator


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out-dir", help="write messages here (default: print to stdout)")
    p.add_argument("--hostname", default="aiosmtpd.test")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password")
    p.add_argument("--auth-required", action="store_true")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--starttls", action="store_true", help="offer STARTTLS")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--implicit-tls", action="store_true", help="TLS from connect")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--size-limit", type=int, default=33554432)
    p.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when stdin reaches EOF (the parent died)",
    )
    args = p.parse_args()

    ctx = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

    authenticator = None
    if args.auth_user is not None:
        authenticator = make_authenticator(args.auth_user, args.auth_password or "")

    handler = Recorder(args.out_dir, authenticator is not None)

    def factory():
        return SMTP(
            handler,
            hostname=args.hostname,
            data_size_limit=args.size_limit,
            enable_SMTPUTF8=args.smtputf8,
            decode_data=False,
            tls_context=ctx if args.starttls else None,
            require_starttls=args.require_starttls,
            authenticator=authenticator,
            auth_required=args.auth_required,
            # Tests authenticate over plain connections too.
            auth_require_tls=False,
            timeout=60,
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(
            factory,
            host=args.host,
            port=args.port,
            ssl=ctx if args.implicit_tls else None,
        )
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    if args.exit_on_stdin_eof:
        # The parent holds our stdin open; EOF means it went away.
        def watch_stdin():
            while os.read(0, 4096):
                pass
            loop.call_soon_threadsafe(loop.stop)

        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
