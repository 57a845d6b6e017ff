"""Time `carecli mail ingest` as a whole process: a Maildir of ordinary mail, the same Maildir
again (everything known), and one message on stdin.

    python bench/mail_ingest.py [--messages 10000] [--runs 10] [--keep DIR]

The Maildir is generated in a temporary folder: threads of one to six messages between ~2,000
customers and the shop (our replies too), replies quoting the message before them, a few
auto-replies, and about one message in fifty carrying an attachment (a 20-200 KB file). Targets:
first ingest under 30 s with peak RSS under 100 MB; the second under 5 s; one message on stdin
under 200 ms (median).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

CARECLI = str(Path(sys.executable).with_name("carecli"))
SHOP = "help@shop.example"
WORDS = (
    "vase order delivery parcel cracked flowers roses tulips bouquet refund replacement tracking courier "
    "address invoice payment card birthday wedding arrived late tomorrow thanks please photo damaged "
    "wrong colour subscription weekly change cancel discount voucher"
).split()
SUBJECTS = [
    "Vase arrived cracked",
    "Where is my order?",
    "Wrong colour roses",
    "Change of delivery address",
    "Invoice for order {n}",
    "Subscription pause",
    "Refund not received",
    "Wedding bouquet question",
]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[:1].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    lines, line = [], []
    for word in " ".join(sentence(rng, rng.randint(6, 16)) for _ in range(rng.randint(2, 6))).split():
        line.append(word)
        if len(" ".join(line)) > 68:
            lines.append(" ".join(line))
            line = []
    return "\n".join([*lines, " ".join(line)])


def one_message(
    *,
    sender: str,
    to: str,
    subject: str,
    at: datetime,
    message_id: str,
    body: str,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    auto: bool = False,
) -> bytes:
    head = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(at)}",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
    ]
    if in_reply_to:
        head.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        head.append("References: " + " ".join(f"<{r}>" for r in references))
    if auto:
        head.append("Auto-Submitted: auto-replied")
    if attachment is None:
        head += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode("utf-8")
    name, content_type, data = attachment
    boundary = f"=_{message_id.split('@')[0]}"
    encoded = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
    head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    parts = [
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body.replace("\n", "\r\n"),
        f'--{boundary}\r\nContent-Type: {content_type}; name="{name}"\r\nContent-Transfer-Encoding: base64\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n{encoded}',
        f"--{boundary}--\r\n",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(parts)).encode("utf-8")


def quoted(who: str, at: datetime, text: str) -> str:
    return f"\n\nOn {format_datetime(at)}, {who} wrote:\n" + "\n".join("> " + line for line in text.split("\n"))


def generate(folder: Path, count: int, *, seed: int = 15) -> Path:
    """A Maildir of `count` messages in `folder`/Maildir; returns its path."""
    rng = random.Random(seed)
    maildir = folder / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    customers = [(f"Customer {n}", f"customer{n}@example.com") for n in range(2000)]
    start = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
    written = 0
    thread = 0
    while written < count:
        thread += 1
        name, address = rng.choice(customers)
        subject = rng.choice(SUBJECTS).format(n=rng.randint(1000, 9999))
        at = start + timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        ids: list[str] = []
        previous_text, previous_who, previous_at = "", "", at
        for step in range(min(rng.randint(1, 6), count - written)):
            ours = step % 2 == 1
            auto = not ours and step == 0 and rng.random() < 0.02
            message_id = f"t{thread}.m{step}@{'shop.example' if ours else 'example.com'}"
            text = paragraph(rng) + ("\n\nKind regards,\nThe shop" if ours else f"\n\n{name}")
            if previous_text:
                text += quoted(previous_who, previous_at, previous_text)
            attachment = None
            if not ours and rng.random() < 0.02:
                size = rng.randint(20_000, 200_000)
                attachment = (f"photo-{thread}-{step}.jpg", "image/jpeg", rng.randbytes(size))
            raw = one_message(
                sender=f"Shop <{SHOP}>" if ours else f"{name} <{address}>",
                to=f"{name} <{address}>" if ours else SHOP,
                subject=("Re: " if step else "") + subject,
                at=at,
                message_id=message_id,
                body=text,
                in_reply_to=ids[-1] if ids else None,
                references=ids[-5:] or None,
                attachment=attachment,
                auto=auto,
            )
            (maildir / "cur" / f"{1_700_000_000 + written}.{thread}_{step}.bench:2,S").write_bytes(raw)
            ids.append(message_id)
            previous_text, previous_who, previous_at = text.split("\n\nOn ")[0], name if not ours else "Shop", at
            at += timedelta(minutes=rng.randint(20, 3 * 24 * 60))
            written += 1
    return maildir


def run_once(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> tuple[float, float, int, str]:
    """Seconds, peak RSS in MB, exit code and last stderr line of one whole-process run."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as given:
        if stdin is not None:
            given.write(stdin)
            given.seek(0)
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdin=given, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        elapsed = time.perf_counter() - started
        err.seek(0)
        last_line = (err.read().decode(errors="replace").strip().splitlines() or [""])[-1]
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), last_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10, help="runs of the one-message ingest")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="carecli-mail-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "mail.db"
    env = {**os.environ, "CARECLI_DB": str(db), "CARECLI_NOW": "2026-03-14T10:00:00+00:00"}
    env.pop("CARECLI_CONFIG", None)
    config = work / "config.toml"
    config.write_text(f'[mail]\naddresses = ["{SHOP}"]\n')
    env["CARECLI_CONFIG"] = str(config)
    started = time.perf_counter()
    maildir = generate(work, args.messages)
    size = sum(p.stat().st_size for p in (maildir / "cur").iterdir())
    print(
        f"generated {args.messages} messages ({size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s: {maildir}"
    )
    subprocess.run([CARECLI, "init"], env=env, check=True, capture_output=True)

    rows = []
    for name, target_s in (("mail ingest MAILDIR (first)", 30.0), ("mail ingest MAILDIR (again, all known)", 5.0)):
        seconds, peak, code, last = run_once([CARECLI, "mail", "ingest", str(maildir)], env)
        rows.append((name, seconds, peak, code, last, target_s))

    one = generate(work / "one", 1, seed=99) / "cur"
    raw = next(one.iterdir()).read_bytes()
    times, peaks = [], []
    for number in range(args.runs):
        fresh = raw.replace(b"t1.m0@example.com", f"one{number}.m0@example.com".encode())
        seconds, peak, code, last = run_once([CARECLI, "mail", "ingest", "-"], env, stdin=fresh)
        if code != 0:
            raise SystemExit(f"mail ingest - failed: exit {code}: {last}")
        times.append(seconds)
        peaks.append(peak)
    rows.append(("mail ingest - (one new message, median)", statistics.median(times), max(peaks), 0, last, 0.2))

    print("\n| command | seconds | peak RSS MB | target | |\n|---|---:|---:|---|---|")
    for name, seconds, peak, code, last, target_s in rows:
        verdict = "ok" if code == 0 and seconds < target_s and (peak < 100 or "first" not in name) else "MISSED"
        if code != 0:
            verdict = f"exit {code}"
        print(f"| {name} | {seconds:.2f} | {peak:.0f} | < {target_s:g} s | {verdict} |")
        print(f"|   ({last}) | | | | |")
    print(f"\none-message runs (s): {', '.join(f'{t:.3f}' for t in times)}")
    print(f"work folder: {work}" + ("" if args.keep else " (a temporary folder; remove it when done)"))


if __name__ == "__main__":
    main()
