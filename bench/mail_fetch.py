"""Time `carecli mail fetch` of 1,000 new messages from a local Dovecot, as a whole process.

    python bench/mail_fetch.py [--messages 1000]

Starts the Dovecot the tests use (tests/fixtures/dovecot.py: 127.0.0.1, a free port, its own config),
puts the messages in INBOX over IMAP APPEND, then times one `carecli mail fetch` into a fresh
database and a second, incremental one (nothing new). Target: under 20 s for the first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures import dovecot

CARECLI = str(Path(sys.executable).parent / "carecli")


def messages(count: int):
    start = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    for number in range(count):
        mail = EmailMessage()
        mail["From"] = f"Customer {number % 300} <c{number % 300}@example.com>"
        mail["To"] = "help@shop.example"
        mail["Subject"] = f"Order {number // 3} question"
        mail["Date"] = format_datetime(start + timedelta(minutes=7 * number))
        mail["Message-ID"] = f"<bench-{number}@example.com>"
        mail.set_content(f"Hello, about order {number // 3}: where is it?\n\n" + "Some more words. " * 40)
        yield bytes(mail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    if not dovecot.available():
        sys.exit("dovecot is not installed: apt-get install dovecot-imapd")
    server = dovecot.Dovecot().start()
    work = Path(tempfile.mkdtemp(prefix="cc-bench-"))
    try:
        account = server.account()
        began = time.perf_counter()
        account.append_many(messages(args.messages))
        print(f"{args.messages} messages appended to INBOX in {time.perf_counter() - began:.1f} s")
        config = work / "config.toml"
        config.write_text(
            '[mail]\naddresses = ["help@shop.example"]\n[mail.imap]\n'
            f'host = "127.0.0.1"\nport = {server.port}\nuser = "{account.user}"\n'
            f'password_cmd = "echo {account.password}"\ntls = "none"\nfolders = ["INBOX"]\n'
        )
        env = {**os.environ, "CARECLI_DB": str(work / "bench.db"), "CARECLI_CONFIG": str(config)}
        subprocess.run([CARECLI, "init"], env=env, check=True, capture_output=True)
        for label in ("first fetch (all new)", "second fetch (nothing new)"):
            began = time.perf_counter()
            done = subprocess.run([CARECLI, "mail", "fetch"], env=env, check=True, capture_output=True, text=True)
            print(f"{label}: {time.perf_counter() - began:.2f} s  ({done.stderr.strip().splitlines()[-1]})")
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
