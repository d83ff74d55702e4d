#!/usr/bin/env python3
"""A real SMTP server for the test suites (aiosmtpd): every message it accepts is written to a
folder, one .eml file each, complete before it appears. Prints READY once it listens; stops on
SIGTERM or when its standard input closes. With --tls, it speaks STARTTLS (and requires it before
mail is accepted) or TLS from the first byte, with the given certificate.

    smtp_sink.py --port 2525 --folder /tmp/mail [--tls starttls|implicit --cert C --key K]
"""
import argparse
import asyncio
import pathlib
import signal
import ssl
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    """Writes each accepted message to the folder."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        partial = self.folder / (name + ".partial")
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)
        return "250 Message accepted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=pathlib.Path, required=True)
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)

    options = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "starttls":
            options = {"tls_context": context, "require_starttls": True}
        else:
            options = {"ssl_context": context}
    controller = Controller(Sink(args.folder), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("READY", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The test that started us may die without a signal: its end of our stdin closes then.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
