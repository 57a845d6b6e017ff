"""`report weekly|monthly --format html`: one self-contained page, checked as parsed HTML and as
headless Chromium renders it (skipped, saying why, when Chromium is absent)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
from html.parser import HTMLParser

import pytest

from tests.cli.test_screens import demo_db  # noqa: F401 (the module's demo shop, built once)

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
HOSTILE = "<script>alert('x')</script> & \"Ada\"\x07\x1b[31m"


class Page(HTMLParser):
    """Every start tag with its attributes, and the text, of one page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag: str, css_class: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag and css_class in (attrs.get("class") or "").split()]


@pytest.fixture
def demo(demo_db, db_path):  # noqa: F811
    shutil.copy(demo_db, db_path)
    from tests.conftest import Run

    return Run()


def assert_self_contained(text: str) -> None:
    lowered = text.lower()
    for reference in ("http:", "https:", "<script", "src=", "url(", "@import", "<link", "javascript:"):
        assert reference not in lowered, reference
    assert all(ord(char) >= 32 or char in "\n\t" for char in text)


def test_weekly_html_charts_hold_the_report_figures(demo, tmp_path):
    report = json.loads(demo("report", "weekly", "--format", "json", ok=True).stdout)
    figures = report["figures"]
    target = tmp_path / "week.html"
    result = demo("report", "weekly", "--format", "html", "--output", str(target), ok=True)
    assert result.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert_self_contained(text)
    page = Page(text)
    opened, solved = page.having("rect", "opened"), page.having("rect", "solved")
    assert len(opened) == len(solved) == 7  # Monday to Sunday
    assert sum(int(bar["data-value"]) for bar in opened) == figures["tickets"]["opened"]
    assert sum(int(bar["data-value"]) for bar in solved) == figures["tickets"]["closed"]
    first = page.having("circle", "first-reply")
    assert len(first) == 8 and [p["data-period"] for p in first][-1] == report["period"]["label"]
    assert float(first[-1]["data-value"]) == figures["first_response_s"]["median"]
    assert float(page.having("circle", "resolution")[-1]["data-value"]) == figures["resolution_s"]["median"]
    assert float(page.having("circle", "csat")[-1]["data-value"]) == figures["csat"]["mean"]
    assert len(page.having("tr", "figure")) == 12
    assert "Median first reply" in page.text


def test_monthly_html_goes_to_stdout_and_daily_has_none(demo):
    page = Page(demo("report", "monthly", "--format", "html", ok=True).stdout)
    assert len(page.having("rect", "opened")) == 28  # February 2026
    daily = demo("report", "daily", "--format", "html")
    assert daily.exit_code == 2 and "no html page" in daily.stderr
    both = demo("report", "weekly", "--format", "html", "--mail", "owner@shop.example", "--output", "x.html")
    assert both.exit_code == 2 and "give one" in both.stderr


def test_stored_text_is_escaped_and_control_characters_dropped(shop, tmp_path, monkeypatch):
    config = tmp_path / "sla.toml"
    config.write_text('[sla.high]\nfirst_response = "30m"\n')
    monkeypatch.setenv("CARECLI_CONFIG", str(config))
    shop("customer", "edit", "ada", "--name", HOSTILE, ok=True)
    shop("ticket", "edit", "1", "--subject", f"Broken {HOSTILE}", ok=True)
    text = shop("report", "weekly", "--format", "html", ok=True).stdout
    assert_self_contained(text)
    page = Page(text)
    assert [tag for tag, _ in page.tags if tag == "script"] == []
    items = [line for line in "".join(page.text).splitlines() if "Broken" in line]
    shown = "<script>alert('x')</script> & \"Ada\"[31m"
    assert any("Ada" in line and shown in line for line in items), items
    assert "&lt;script&gt;" in text


def chromium_dom(page_path, tmp_path) -> str:
    """The DOM Chromium builds from the file: started with its own profile and a timeout, killed by pid."""
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            page_path.as_uri(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0
    return out


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_chromium_renders_the_weekly_page_with_every_bar_and_point(demo, tmp_path):
    target = tmp_path / "week.html"
    demo("report", "weekly", "--format", "html", "--output", str(target), ok=True)
    source = Page(target.read_text(encoding="utf-8"))
    dom = chromium_dom(target, tmp_path)
    rendered = Page(dom)
    assert [tag for tag, _ in rendered.tags].count("svg") == 4
    for tag, css_class in (("rect", "opened"), ("rect", "solved"), ("circle", "first-reply"), ("circle", "nps")):
        assert len(rendered.having(tag, css_class)) == len(source.having(tag, css_class)) > 0, css_class
    assert [p["data-value"] for p in rendered.having("circle", "csat")] == [
        p["data-value"] for p in source.having("circle", "csat")
    ]
    assert "carecli weekly report" in "".join(rendered.text)
