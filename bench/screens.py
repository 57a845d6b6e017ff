"""Screens of the demo shop for a person to look at: text captures at 80 columns of `today`,
`ticket list`, `kpi`, `customer show 1` and `report daily` as a terminal shows them (through
script(1), NO_COLOR), and a PNG of the weekly HTML report rendered by headless Chromium.

    python bench/screens.py [OUT_DIR]     (default: a new temporary folder; its path is printed)

carecli must be on PATH; the PNG needs /usr/bin/chromium (skipped, saying so, without it). Not run in CI.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

NOW = "2026-03-14T10:00:00+00:00"
SCREENS = {
    "today": ["today"],
    "ticket-list": ["ticket", "list"],
    "kpi": ["kpi"],
    "customer-show-1": ["customer", "show", "1"],
    "report-daily": ["report", "daily"],
}


def run_killed_on_timeout(command: list[str], *, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run in its own process group; on timeout kill that group by its id."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="carecli-screens-"))
    out.mkdir(parents=True, exist_ok=True)
    carecli = shutil.which("carecli")
    if carecli is None:
        print("carecli is not on PATH", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as work:
        env = {
            **os.environ,
            "CARECLI_NOW": NOW,
            "CARECLI_TIMEZONE": "Europe/Berlin",
            "NO_COLOR": "1",
            "XDG_DATA_HOME": f"{work}/data",
            "XDG_CONFIG_HOME": f"{work}/config",
        }
        env.pop("CARECLI_CONFIG", None)
        db = f"{work}/demo.db"
        subprocess.run([carecli, "--db", db, "demo", "--yes"], env=env, check=True, capture_output=True)
        for name, args in SCREENS.items():
            line = shlex.join([carecli, "--db", db, *args])
            # script(1) gives carecli a terminal 80 columns wide, as a person's would be.
            shown = run_killed_on_timeout(
                ["script", "-qec", f"stty cols 80 rows 60; {line}", "/dev/null"], env=env, timeout=60
            )
            text = shown.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
            (out / f"{name}.txt").write_text(f"$ carecli {shlex.join(args)}\n{text}", encoding="utf-8")
        page = out / "report-weekly.html"
        subprocess.run(
            [carecli, "--db", db, "report", "weekly", "--format", "html", "--output", str(page)], env=env, check=True
        )
        chromium = "/usr/bin/chromium"
        if not os.access(chromium, os.X_OK):
            print("no /usr/bin/chromium: no PNG (apt-get install chromium)", file=sys.stderr)
        else:
            png = out / "report-weekly.png"
            shot = run_killed_on_timeout(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    f"--user-data-dir={work}/chromium-profile",
                    f"--screenshot={png}",
                    "--window-size=1000,1800",
                    page.as_uri(),
                ],
                env=env,
                timeout=120,
            )
            if shot.returncode != 0 or not png.exists():
                print(f"chromium failed ({shot.returncode}): no PNG", file=sys.stderr)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
