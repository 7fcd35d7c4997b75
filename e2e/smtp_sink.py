"""A tiny SMTP server for tests: stores every message it accepts as one file.

    .stack/venv/bin/python e2e/smtp_sink.py --port 2525 --dir /tmp/mails

Each message becomes `<dir>/<n>-<uuid>.json`: the envelope recipients, the
decoded subject, plain-text and HTML parts, and the raw message. Files are
written to a temporary name and renamed, so a reader never sees half a
message. `--reject <address>` refuses that recipient with a 550. Prints
`ready` once listening. Needs aiosmtpd, which the local
stack's venv has (deploy/local/requirements.txt).
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import time
import uuid

from aiosmtpd.controller import Controller


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
        }
        name = f"{next(self.counter):06d}-{uuid.uuid4().hex}.json"
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reject", action="append", default=[], help="refuse this recipient with 550 (repeatable)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Store(args.dir, args.reject), hostname=args.host, port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
