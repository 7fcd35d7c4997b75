"""A tiny SMTP server for tests: stores every message it accepts as one file.

    .stack/venv/bin/python e2e/smtp_sink.py --port 2525 --dir /tmp/mails

Each message becomes `<dir>/<n>-<uuid>.json`: the envelope recipients, the
decoded subject, plain-text and HTML parts, and the raw message. Files are
written to a temporary name and renamed, so a reader never sees half a
message. `--reject <address>` refuses that recipient with a 550.

`--tls-cert`/`--tls-key` (PEM files) with `--tls starttls` offer STARTTLS
and refuse mail until it is used; with `--tls implicit` the port speaks TLS
from the first byte. `--auth user:password` refuses mail until the client
has authenticated with exactly that (with STARTTLS, only after it). Each
record says whether the message came over TLS and who logged in.

Prints `ready` once listening. Needs aiosmtpd, which the local
stack's venv has (deploy/local/requirements.txt).
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import ssl
import time
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def part(message, kind):
    body = message.get_body(preferencelist=(kind,))
    return body.get_content() if body is not None else None


class Store:
    def __init__(self, directory, reject):
        self.directory = directory
        self.reject = {address.lower() for address in reject}
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that does not exist, to test permanent refusals.
        if address.lower() in self.reject:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "from": envelope.mail_from,
            "rcpts": list(envelope.rcpt_tos),
            "subject": str(message["subject"] or ""),
            "text": part(message, "plain"),
            "html": part(message, "html"),
            "raw": raw.decode("utf-8", "replace"),
            # session.ssl after STARTTLS; the transport's SSL object from the first byte.
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "login": session.auth_data,
        }
        name = f"{next(self.counter):06d}-{uuid.uuid4().hex}.json"
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


class Credentials:
    """Accepts exactly one login and password (PLAIN or LOGIN)."""

    def __init__(self, login, password):
        self.login = login.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (self.login, self.password):
            return AuthResult(success=True, auth_data=auth_data.login.decode())
        return AuthResult(success=False, handled=False)


def security(args):
    """The Controller's keyword arguments for --tls and --auth."""
    options = {}
    if args.tls != "none":
        if not (args.tls_cert and args.tls_key):
            raise SystemExit("--tls needs --tls-cert and --tls-key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls == "implicit":
            options["ssl_context"] = context
        else:
            options.update(tls_context=context, require_starttls=True)
    if args.auth:
        login, _, password = args.auth.partition(":")
        # aiosmtpd counts only STARTTLS as TLS here; an implicit TLS port is TLS throughout.
        options.update(authenticator=Credentials(login, password), auth_required=True,
                       auth_require_tls=args.tls == "starttls")
    return options


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reject", action="append", default=[], help="refuse this recipient with 550 (repeatable)")
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--tls-cert", help="the server's certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--auth", help="require AUTH with this user:password")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Store(args.dir, args.reject), hostname=args.host, port=args.port, **security(args))
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
