"""A `mail ingest` killed with SIGKILL partway leaves no half-filed message, and the next run
files every message exactly once."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CARECLI = Path(sys.executable).parent / "carecli"
MESSAGES = 300


def bench_generator():
    spec = importlib.util.spec_from_file_location("bench_mail_ingest", ROOT / "bench" / "mail_ingest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def filed(db_path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.05)
        try:
            return conn.execute("SELECT count(*) FROM mail_messages").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # busy for a moment: ask again
        return 0


def assert_nothing_half_filed(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        orphans = conn.execute(
            """SELECT count(*) FROM mail_messages m
               WHERE m.status = 'filed' AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.id = m.interaction_id)"""
        ).fetchone()[0]
        assert orphans == 0, "a filed message without its interaction"
        unmailed = conn.execute(
            """SELECT count(*) FROM interactions i WHERE i.direction IN ('in', 'out')
               AND NOT EXISTS (SELECT 1 FROM mail_messages m WHERE m.interaction_id = i.id)"""
        ).fetchone()[0]
        assert unmailed == 0, "an interaction without its mail row"
        empty = conn.execute(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM interactions i WHERE i.ticket_id = t.id)"
        ).fetchone()[0]
        assert empty == 0, "a ticket without its first message"
        loose = conn.execute(
            "SELECT count(*) FROM attachments a LEFT JOIN mail_messages m ON m.id = a.mail_message_id WHERE m.id IS NULL"
        ).fetchone()[0]
        assert loose == 0
        for (digest,) in conn.execute("SELECT sha256 FROM attachments WHERE stored = 1"):
            assert (db_path.with_name(db_path.name + ".attachments") / digest[:2] / digest).is_file()
    finally:
        conn.close()


def test_a_killed_ingest_leaves_nothing_half_filed_and_the_next_run_files_each_message_once(tmp_path, db_path):
    maildir = bench_generator().generate(tmp_path, MESSAGES)
    config = tmp_path / "config.toml"
    config.write_text('[mail]\naddresses = ["help@shop.example"]\n')
    env = {**os.environ, "CARECLI_CONFIG": str(config)}
    subprocess.run([str(CARECLI), "init"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [str(CARECLI), "mail", "ingest", str(maildir)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while filed(db_path) < MESSAGES // 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if process.poll() is not None:
        pytest.fail("the ingest finished before it could be killed: give it more messages")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    partway = filed(db_path)
    assert 0 < partway < MESSAGES
    assert_nothing_half_filed(db_path)

    again = subprocess.run(
        [str(CARECLI), "mail", "ingest", str(maildir)], env=env, capture_output=True, text=True, check=True
    )
    assert f"{MESSAGES} messages:" in again.stderr and f"{partway} seen before" in again.stderr
    assert_nothing_half_filed(db_path)
    conn = sqlite3.connect(db_path)
    try:
        ids = [row[0] for row in conn.execute("SELECT message_id FROM mail_messages")]
        filed_count = conn.execute("SELECT count(*) FROM mail_messages WHERE status = 'filed'").fetchone()[0]
        messages = conn.execute("SELECT count(*) FROM interactions WHERE direction IN ('in', 'out')").fetchone()[0]
    finally:
        conn.close()
    assert len(ids) == len(set(ids)) == MESSAGES
    assert messages == filed_count
    third = subprocess.run(
        [str(CARECLI), "mail", "ingest", str(maildir)], env=env, capture_output=True, text=True, check=True
    )
    assert f"0 filed, 0 skipped, 0 quarantined, {MESSAGES} seen before" in third.stderr
