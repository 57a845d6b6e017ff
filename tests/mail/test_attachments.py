"""Attachments of filed mail: kept beside the database by content, listed on their ticket, saved
under a safe name; a hostile file name never becomes a path or reaches a terminal raw."""

from __future__ import annotations

import email
import hashlib
import json
from email import policy
from email.message import EmailMessage

import pytest

from tests.conftest import database_digest
from tests.mail.test_intake import message, rows
from tests.mail.test_parse import DATASET


def with_attachments(*files: tuple[str, bytes, str], message_id: str = "a1@example.com", **headers) -> bytes:
    """A customer's message (tests.mail.test_intake.message) with these (name, bytes, type) files."""
    mail = email.message_from_bytes(message(message_id=message_id, **headers), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    for name, data, content_type in files:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(mail)


def folder(db_path):
    return db_path.with_name(db_path.name + ".attachments")


def listed(mailrun, *args):
    return json.loads(mailrun.run("attachment", "list", *args, "--format", "json", ok=True).stdout)


def test_the_attachments_of_a_shared_outlook_message_are_kept_by_hash_and_listed_on_its_ticket(mailrun, db_path):
    mailrun((DATASET / "attach-three-pngs-outlook.eml").read_bytes())
    found = listed(mailrun)
    assert sorted((a["name"], a["content_type"], a["size"], a["stored"]) for a in found) == [
        ("blueball.png", "image/png", 1325, True),
        ("greenball.png", "image/png", 1298, True),
        ("redball.png", "image/png", 1453, True),
    ]
    assert {a["ticket_id"] for a in found} == {1}
    for attachment in found:
        path = folder(db_path) / attachment["sha256"][:2] / attachment["sha256"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == attachment["sha256"]
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert folder(db_path).stat().st_mode & 0o777 == 0o700
    shown = mailrun.run("ticket", "show", "1", ok=True).stdout
    assert "Attachments" in shown and "greenball.png" in shown and "1298" in shown


@pytest.mark.parametrize(
    "file, name, content_type, size",
    [
        ("attach-jpeg-estonian-filename.eml", "Eelanalüüsi päring.jpg", "image/jpeg", 1952),
        ("attach-msword-french.eml", "Biodiversite de semaine en semaine.doc", "application/msword", 27648),
        ("attach-pdf-emoji-subject.eml", "broken.pdf", "application/pdf", 1026),
        ("attach-long-japanese-filename.eml", "かきくけこ" * 5 + ".txt", "text/plain", 18),
    ],
)
def test_real_attachments_keep_their_decoded_name_type_and_size(mailrun, db_path, file, name, content_type, size):
    mailrun((DATASET / file).read_bytes())
    (found,) = listed(mailrun)
    assert (found["name"], found["content_type"], found["size"], found["stored"]) == (name, content_type, size, True)


def test_save_writes_the_original_bytes_under_the_original_name_and_never_overwrites(mailrun, db_path, tmp_path):
    raw = (DATASET / "attach-jpeg-estonian-filename.eml").read_bytes()
    mailrun(raw)
    out = tmp_path / "out"
    out.mkdir()
    saved = mailrun.run("attachment", "save", "1", str(out), ok=True)
    target = out / "Eelanalüüsi päring.jpg"
    assert target.read_bytes()[:3] == b"\xff\xd8\xff" and "saved attachment #1" in saved.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    again = mailrun.run("attachment", "save", "1", str(out))
    assert again.exit_code == 1 and "exists" in again.stderr and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    target.write_bytes(b"mine")
    assert mailrun.run("attachment", "save", "1", str(target)).exit_code == 1
    assert target.read_bytes() == b"mine"
    mailrun.run("attachment", "save", "1", str(target), "--force", ok=True)
    assert target.read_bytes()[:3] == b"\xff\xd8\xff"
    other = tmp_path / "copy.jpg"
    mailrun.run("attachment", "save", "1", str(other), ok=True)
    assert other.read_bytes() == target.read_bytes()


def test_save_to_stdout_writes_the_bytes_only(mailrun, db_path):
    mailrun(with_attachments(("notes.txt", b"line one\n", "text/plain")))
    result = mailrun.run("attachment", "save", "1", "-", ok=True)
    assert result.stdout == "line one\n"


def test_save_into_the_current_folder_by_default(mailrun, db_path, tmp_path, monkeypatch):
    mailrun(with_attachments(("notes.txt", b"hello", "text/plain")))
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    mailrun.run("attachment", "save", "1", ok=True)
    assert (here / "notes.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    "hostile, safe",
    [
        ("../../.bashrc", "bashrc"),
        ("..\\..\\evil.exe", "evil.exe"),
        ("\x1b]0;owned\x07report\x1b[2J.pdf", "]0;ownedreport[2J.pdf"),
        ("/etc/passwd", "passwd"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ],
)
def test_a_hostile_file_name_is_data_never_a_path_nor_a_terminal_sequence(mailrun, db_path, tmp_path, hostile, safe):
    mailrun(with_attachments((hostile, b"payload", "application/octet-stream")))
    (found,) = listed(mailrun)
    assert found["name"] == safe
    stored = [p for p in folder(db_path).rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [hashlib.sha256(b"payload").hexdigest()]
    table = mailrun.run("attachment", "list", ok=True).stdout + mailrun.run("ticket", "show", "1", ok=True).stdout
    assert "\x1b" not in table and "\u202e" not in table and "\x07" not in table
    out = tmp_path / "out"
    out.mkdir()
    mailrun.run("attachment", "save", "1", str(out), ok=True)
    assert [p.name for p in out.iterdir()] == [safe]
    assert not (tmp_path / ".bashrc").exists()


def test_an_attachment_over_the_limit_is_listed_with_its_size_but_not_kept(mailrun, db_path, isolated):
    mailrun.config.write_text('[mail]\nattachment_max_size = "1KB"\n')
    mailrun(with_attachments(("small.txt", b"x" * 1000, "text/plain"), ("big.bin", b"y" * 1001, "application/zip")))
    found = {a["name"]: a for a in listed(mailrun, "--ticket", "1")}
    assert (found["small.txt"]["stored"], found["big.bin"]["stored"], found["big.bin"]["size"]) == (True, False, 1001)
    stored = [p.name for p in folder(db_path).rglob("*") if p.is_file()]
    assert stored == [hashlib.sha256(b"x" * 1000).hexdigest()]
    shown = mailrun.run("ticket", "show", "1", ok=True).stdout
    assert "big.bin" in shown and "not kept: too large" in shown
    result = mailrun.run("attachment", "save", str(found["big.bin"]["id"]), "-")
    assert result.exit_code == 1 and "was not kept" in result.stderr and "attachment_max_size" in result.stderr


def test_a_missing_stored_file_and_an_unknown_id_are_one_line_errors(mailrun, db_path):
    mailrun(with_attachments(("notes.txt", b"hello", "text/plain")))
    for path in folder(db_path).rglob("*"):
        if path.is_file():
            path.unlink()
    missing = mailrun.run("attachment", "save", "1", "-")
    assert missing.exit_code != 0 and "stored file is missing" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    unknown = mailrun.run("attachment", "save", "99", "-")
    assert unknown.exit_code != 0 and "no attachment #99" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert mailrun.run("attachment", "list", "--ticket", "7", ok=True).stderr.strip() == "no attachments on ticket #7"


def test_the_same_file_in_two_messages_is_stored_once(mailrun, db_path):
    mailrun(with_attachments(("a.txt", b"same", "text/plain"), message_id="a1@example.com"))
    mailrun(with_attachments(("b.txt", b"same", "text/plain"), message_id="a2@example.com", at="2026-03-13 10:00"))
    assert len(listed(mailrun)) == 2
    assert len([p for p in folder(db_path).rglob("*") if p.is_file()]) == 1


def test_a_dry_run_keeps_no_file_and_writes_nothing(mailrun, db_path):
    before = database_digest(db_path)
    mailrun(with_attachments(("notes.txt", b"hello", "text/plain")), "--dry-run")
    assert database_digest(db_path) == before
    assert not folder(db_path).exists()


def test_a_file_left_by_a_killed_ingest_is_reused_when_the_message_comes_again(mailrun, db_path):
    # The file is written before the transaction commits; a kill in between leaves only the file.
    data = b"kept before the kill"
    digest = hashlib.sha256(data).hexdigest()
    (folder(db_path) / digest[:2]).mkdir(parents=True)
    (folder(db_path) / digest[:2] / digest).write_bytes(data)
    mailrun(with_attachments(("notes.txt", data, "text/plain")))
    assert mailrun.run("attachment", "save", "1", "-", ok=True).stdout == data.decode()


def test_attachment_max_size_must_be_a_size(run, isolated):
    config = isolated / "config.toml"
    config.write_text('[mail]\nattachment_max_size = "lots"\n')
    result = run("--config", str(config), "attachment", "list")
    assert result.exit_code != 0 and "attachment_max_size" in result.stderr and "25MB" in result.stderr


def test_skipped_mail_keeps_no_files(mailrun, db_path):
    mailrun(with_attachments(("a.txt", b"auto", "text/plain"), Auto_Submitted="auto-replied"))
    assert rows(db_path, "SELECT count(*) FROM attachments") == [(0,)]
    assert not folder(db_path).exists()


def test_a_backup_carries_the_attachment_files_and_db_check_names_a_missing_one(mailrun, db_path, tmp_path):
    mailrun((DATASET / "attach-three-pngs-outlook.eml").read_bytes())
    target = tmp_path / "elsewhere" / "copy.db"
    target.parent.mkdir()
    result = mailrun.run("db", "backup", str(target), ok=True)
    assert result.stdout.strip() == str(target)
    assert "and 3 attachments" in result.stderr
    for attachment in listed(mailrun):
        copied = folder(target) / attachment["sha256"][:2] / attachment["sha256"]
        assert hashlib.sha256(copied.read_bytes()).hexdigest() == attachment["sha256"]
        assert copied.stat().st_mode & 0o777 == 0o600
    assert folder(target).stat().st_mode & 0o777 == 0o700
    # The copy is a working database: its attachments can be saved from it.
    first = listed(mailrun)[0]
    saved = mailrun.run("--db", str(target), "attachment", "save", str(first["id"]), str(tmp_path / "out.png"))
    assert saved.exit_code == 0, saved.stderr
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    lost = folder(db_path) / first["sha256"][:2] / first["sha256"]
    lost.unlink()
    check = mailrun.run("db", "check")
    assert check.exit_code == 1 and f"attachment {first['id']}: its file" in check.stdout + check.stderr
    second = mailrun.run("db", "backup", str(tmp_path / "second.db"), ok=True)
    assert (
        "and 2 attachments" in second.stderr
        and "warning: 1 attachment file named in the database was not" in second.stderr
    )
