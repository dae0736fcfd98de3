#!/usr/bin/env python3
"""A recording SMTP server for tests, built on aiosmtpd.

Started by mailwire-testkit (`Aiosmtpd`). Every accepted message is written to
--out-dir as two files sharing a sequence number:

    000001.eml   the message bytes exactly as received after dot-unstuffing
                 (CRLF line endings as sent by the client, no added headers)
    000001.json  the envelope: mail_from, mail_options, rcpt_tos,
                 rcpt_options, smtp_utf8, auth_login, auth_mechanism, tls,
                 tls_client_cn (the client certificate's common name, or
                 null), peer ([address, port] of the client), eml (file name)

The .json is renamed into place after the .eml is complete, so a reader that
waits for N .json files sees N complete messages.

Once listening, prints one line `READY <port>` on stdout and flushes it
(use --port 0 to let the kernel pick a port). Recipients whose local part
starts with "reject" get 550 at RCPT, "tempfail" get 451.

AUTH: --auth-user/--auth-password configure one user; --auth-mechanisms
picks what is offered (default PLAIN LOGIN; SCRAM-SHA-1 and SCRAM-SHA-256 are
served by scramp, RFC 5802 / RFC 7677, also without TLS since SCRAM never
reveals the password). --scram-wrong-signature makes the SCRAM exchange send
a server-final `v=` of random bytes while otherwise following the protocol
(it answers the client's empty response with 235), so only a client that
checks the server signature notices. A bad SCRAM proof or an unknown user gets
535 at once (no `e=` server-final). If scramp is needed but missing, prints
`MISSING scramp: ...` and exits with status 3.
"""

import argparse
import asyncio
import base64
import binascii
import json
import os
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, auth_mechanism

# aiosmtpd 1.4 warns about its own use of Session.login_data.
warnings.filterwarnings("ignore", message=".*login_data is deprecated.*")

BUILTIN_MECHANISMS = ("PLAIN", "LOGIN")
SCRAM_MECHANISMS = ("SCRAM-SHA-1", "SCRAM-SHA-256")
# RFC 7677 4 recommends at least 4096; scramp refuses less.
SCRAM_ITERATIONS = 4096


# AuthResult(success=False) defaults to handled=True, which means "the reply
# was sent already"; handled=False makes aiosmtpd send `message`, or 535.


class Authenticated:
    """session.auth_data after a successful AUTH: who, and by which mechanism.

    Deliberately without the password (LoginPassword would keep it)."""

    def __init__(self, login, mechanism):
        self.login = login
        self.mechanism = mechanism


def arg_text(value):
    """A command-line argument as the exact UTF-8 text the parent passed.

    Python decodes argv with the locale's encoding and surrogateescape;
    os.fsencode undoes that byte for byte, whatever the locale is."""
    return os.fsencode(value).decode("utf-8")


class Scram:
    """The server side of SCRAM for one user, by scramp.

    Keys are derived once at start-up (scramp applies SASLprep, RFC 4013, to
    the password, as RFC 5802 2.2 Normalize() asks), so every exchange costs
    one PBKDF2 on the client side only."""

    def __init__(self, user, password, mechanisms, wrong_signature):
        try:
            import scramp
            from scramp.utils import saslprep
        except ImportError as e:
            sys.stdout.write("MISSING scramp: %s\n" % e)
            sys.stdout.flush()
            sys.exit(3)
        self.scramp = scramp
        # scramp passes the user name to auth_fn after SASLprep; store ours
        # the same way so that the two compare as the RFC means them to.
        self.user = saslprep(user)
        self.wrong_signature = wrong_signature
        self.keys = {}
        for name in mechanisms:
            mech = scramp.ScramMechanism(name)
            self.keys[name] = (
                mech,
                mech.make_auth_info(password, iteration_count=SCRAM_ITERATIONS),
            )

    async def exchange(self, server, args, name):
        """RFC 4954 4 framing of RFC 5802 3: client-first (initial response
        or after an empty 334), 334 server-first, client-final, 334
        server-final, an empty client response, then 235."""
        mech, info = self.keys[name]

        def auth_fn(username):
            return info if username == self.user else None

        exchange = mech.make_server(auth_fn)
        if len(args) == 1:
            first = await server.challenge_auth("")
            if first is MISSING:
                # challenge_auth has already answered (501).
                return AuthResult(success=False, handled=True)
        elif args[1] == "=":
            first = b""
        else:
            try:
                first = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(
                    success=False, handled=False, message="501 5.5.2 Can't decode base64"
                )
        try:
            exchange.set_client_first(first.decode("utf-8"))
            server_first = exchange.get_server_first()
        except (self.scramp.ScramException, UnicodeDecodeError):
            return AuthResult(success=False, handled=False)
        final = await server.challenge_auth(server_first)
        if final is MISSING:
            return AuthResult(success=False, handled=True)
        try:
            exchange.set_client_final(final.decode("utf-8"))
        except (self.scramp.ScramException, UnicodeDecodeError):
            # A wrong proof means a wrong password: 535 (RFC 4954 6).
            return AuthResult(success=False, handled=False)
        server_final = exchange.get_server_final()
        if self.wrong_signature:
            # A server that does not know the password cannot compute v=;
            # send something of the right shape and length instead.
            size = len(exchange.server_signature)
            server_final = "v=" + base64.b64encode(os.urandom(size)).decode("ascii")
        done = await server.challenge_auth(server_final)
        if done is MISSING:
            return AuthResult(success=False, handled=True)
        if done != b"":
            # RFC 4954 4: the answer to server-final data is an empty line.
            return AuthResult(
                success=False, handled=False, message="501 5.5.2 Expected an empty response"
            )
        return AuthResult(success=True, auth_data=Authenticated(self.user, name))


class Recorder:
    def __init__(self, out_dir, auth, scram=None):
        self.out_dir = out_dir
        self.auth = auth
        self.scram = scram
        self.seq = 0

    # aiosmtpd finds AUTH mechanisms as the handler's auth_* methods; those
    # not offered are removed with auth_exclude_mechanism.
    @auth_mechanism("SCRAM-SHA-1")
    async def auth_SCRAM_SHA_1(self, server, args):
        return await self.scram.exchange(server, args, "SCRAM-SHA-1")

    @auth_mechanism("SCRAM-SHA-256")
    async def auth_SCRAM_SHA_256(self, server, args):
        return await self.scram.exchange(server, args, "SCRAM-SHA-256")

    async def handle_PROXY(self, server, session, envelope, proxy_data):
        # Any well-formed header is taken; what it said goes in each message's record. It is
        # kept on the connection's protocol object: STARTTLS gives the session a new one.
        server.mailwire_proxy = proxy_info(proxy_data)
        return True

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
        meta["tls_client_cn"] = client_common_name(server)
        meta["proxy"] = getattr(server, "mailwire_proxy", None)
        tmp = os.path.join(self.out_dir, "." + name + ".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=True, indent=1)
        os.rename(tmp, os.path.join(self.out_dir, name + ".json"))
        return "250 2.0.0 OK queued as %s" % name

    @staticmethod
    def _meta(session, envelope, eml):
        login = None
        mechanism = None
        if session.authenticated and isinstance(session.auth_data, Authenticated):
            login = session.auth_data.login
            mechanism = session.auth_data.mechanism
        return {
            "mail_from": envelope.mail_from,
            "mail_options": list(envelope.mail_options),
            "rcpt_tos": list(envelope.rcpt_tos),
            "rcpt_options": list(envelope.rcpt_options),
            "smtp_utf8": bool(envelope.smtp_utf8),
            "auth_login": login,
            "auth_mechanism": mechanism,
            "tls": session.ssl is not None,
            # (address, port) for IPv4, (address, port, flow, scope) for IPv6.
            "peer": list(session.peer[:2]) if isinstance(session.peer, tuple) else None,
            "size": len(envelope.original_content or b""),
            "eml": eml,
        }


def proxy_info(data):
    """A PROXY header as aiosmtpd parsed it."""
    text = lambda v: None if v is None else str(v)
    # Version 2's command: 0 LOCAL, 1 PROXY (proxy-protocol.txt 2.2); none in version 1.
    command = {0: "LOCAL", 1: "PROXY"}.get(data.command) if data.command is not None else None
    return {
        "version": data.version,
        "command": command,
        "src_addr": text(data.src_addr),
        "src_port": data.src_port,
        "dst_addr": text(data.dst_addr),
        "dst_port": data.dst_port,
    }


def client_common_name(server):
    """The common name of the client certificate presented, if any."""
    transport = getattr(server, "transport", None)
    cert = transport.get_extra_info("peercert") if transport is not None else None
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


def make_authenticator(user, password):
    """For the built-in PLAIN and LOGIN: the raw bytes must match."""
    want = (user.encode("utf-8"), password.encode("utf-8"))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and (auth_data.login, auth_data.password) == want
        )
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=Authenticated(user, mechanism))

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
    p.add_argument(
        "--auth-mechanisms",
        default="PLAIN,LOGIN",
        help="comma-separated, from PLAIN, LOGIN, SCRAM-SHA-1, SCRAM-SHA-256",
    )
    p.add_argument(
        "--scram-wrong-signature",
        action="store_true",
        help="send a server-final v= that does not prove knowledge of the password",
    )
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument(
        "--tls-client-ca",
        help="require a client certificate signed by this CA (PEM)",
    )
    p.add_argument("--starttls", action="store_true", help="offer STARTTLS")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--implicit-tls", action="store_true", help="TLS from connect")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument(
        "--proxy-protocol",
        action="store_true",
        help="expect a PROXY protocol header (v1 or v2) before the greeting",
    )
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
        if args.tls_client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=args.tls_client_ca)

    mechanisms = [m for m in args.auth_mechanisms.upper().split(",") if m]
    unknown = [m for m in mechanisms if m not in BUILTIN_MECHANISMS + SCRAM_MECHANISMS]
    if unknown:
        p.error("unknown --auth-mechanisms: %s" % ",".join(unknown))

    authenticator = None
    scram = None
    if args.auth_user is not None:
        user = arg_text(args.auth_user)
        password = arg_text(args.auth_password or "")
        authenticator = make_authenticator(user, password)
        wanted_scram = [m for m in mechanisms if m in SCRAM_MECHANISMS]
        if wanted_scram:
            scram = Scram(user, password, wanted_scram, args.scram_wrong_signature)
    # Offer exactly what was asked for (SCRAM only with a user to check).
    excluded = [
        m
        for m in BUILTIN_MECHANISMS + SCRAM_MECHANISMS
        if m not in mechanisms or (m in SCRAM_MECHANISMS and scram is None)
    ]

    handler = Recorder(args.out_dir, authenticator is not None, scram)

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
            auth_exclude_mechanism=excluded,
            # Tests authenticate over plain connections too.
            auth_require_tls=False,
            timeout=60,
            proxy_protocol_timeout=10 if args.proxy_protocol else None,
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
