"""Time `carecli outbox send` of 1,000 queued replies to a local SMTP server, as a whole process.

    python bench/outbox_send.py [--messages 1000]

Starts the aiosmtpd server the tests use (tests/fixtures/smtpd.py: 127.0.0.1, a free port, each
message kept as a file), queues the replies in a fresh database (one ticket each, through
carecli.mail.compose and outbox.queue, as `ticket reply --send` does), then times one
`carecli outbox send`: all over one connection. Target (issue 16): under 10 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carecli.core import config, store
from carecli.mail import compose, outbox
from carecli.schema import database
from tests.fixtures.smtpd import SMTPServer

CARECLI = str(Path(sys.executable).parent / "carecli")
SHOP = "help@shop.example"


def queue(db: Path, count: int) -> None:
    settings = config.load(None)
    settings.values["mail.addresses"] = [SHOP]
    at = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    conn = database.connect(db, create=True)
    try:
        with store.transaction(conn):
            for number in range(1, count + 1):
                customer = store.insert(
                    conn,
                    "customers",
                    {"name": f"Customer {number}", "email": f"c{number}@example.com", "created_at": at.isoformat()},
                )
                made = compose.compose(
                    settings,
                    to=f"c{number}@example.com",
                    subject=f"Re: Order {number} [#{number}]",
                    body="Thank you for writing. Your order is on its way.\n\n" + "Some more words. " * 40,
                    at=at,
                )
                outbox.queue(conn, made, kind="reply", at=at, customer_id=customer)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    server = SMTPServer().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            db, conf = Path(folder) / "bench.db", Path(folder) / "config.toml"
            conf.write_text(
                f'[mail]\naddresses = ["{SHOP}"]\n[mail.smtp]\nhost = "127.0.0.1"\nport = {server.port}\ntls = "none"\n'
            )
            queue(db, args.messages)
            env = {**os.environ, "CARECLI_DB": str(db), "CARECLI_NOW": "2026-03-14T10:00:00+00:00"}
            started = time.perf_counter()
            done = subprocess.run(
                [CARECLI, "--config", str(conf), "outbox", "send"], env=env, capture_output=True, text=True
            )
            elapsed = time.perf_counter() - started
            received = len(server.received())
            print(
                f"outbox send: {args.messages} messages in {elapsed:.2f} s ({done.stderr.strip()}); server kept {received}"
            )
            if done.returncode != 0 or received != args.messages:
                raise SystemExit(f"failed: exit {done.returncode}: {done.stderr}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
