"""A development SMTP sink: accepts every message, logs it and keeps it as a .eml file."""

import argparse
import asyncio
import contextlib
import signal
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailSink:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.count = 0
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        print(
            f"--- mail #{self.count} to {', '.join(envelope.rcpt_tos)}: {message['Subject']}\n"
            f"{text.strip()}\n---",
            flush=True,
        )
        if self.folder:
            (self.folder / f"{self.count:05d}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.devsmtp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--folder", type=Path, default=Path(".run/mail"))
    args = parser.parse_args()
    controller = Controller(MailSink(args.folder), hostname=args.host, port=args.port)
    controller.start()
    print(f"development SMTP sink on {args.host}:{args.port}, mail kept in {args.folder}/")

    async def wait_for_stop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(wait_for_stop())
    controller.stop()


if __name__ == "__main__":
    main()
