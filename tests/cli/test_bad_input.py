"""Bad input users typed (issue 12, from the fuzzing): each is one error line naming what to fix."""

from __future__ import annotations

import pytest

# A mapping mistake, and a word the error must contain to name the key at fault.
BAD_MAPPINGS = [
    ('columns = "Subject"', "'columns' must be a section"),
    ('columns = ["Subject"]', "'columns' must be a section"),
    ("values = 3", "'values' must be a section"),
    ('time = "UTC"', "'time' must be a section"),
    ("[columns]\nsubject = 5", "[columns] subject"),
    ("[columns]\nsubject = []", "[columns] subject"),
    ('[columns]\nsubjekt = "Subject"', "unknown field 'subjekt'"),
    ('[values]\npriority = "high"', "[values] priority"),
    ('[values.priority]\nhigh = ["urgent"]', "[values.priority] 'high'"),
    ("[values.priority]\nhigh = { a = 1 }", "[values.priority] 'high'"),
    ("[time]\ntimezone = 5", "[time] timezone"),
    ('[time]\ntimezone = "Mars/Base"', "[time] timezone"),
    ("[time]\nformat = 5", "[time] format"),
    ("[time]\nformat = true", "[time] format"),
]


@pytest.mark.parametrize(("mapping", "names"), BAD_MAPPINGS, ids=[m for m, _ in BAD_MAPPINGS])
def test_every_mapping_mistake_names_the_key_and_the_fix(run, tmp_path, mapping, names):
    (tmp_path / "in.csv").write_text("Subject,Name,Created\nVase,Ada,2026-03-01\n")
    complete = '\n[columns]\nsubject = "Subject"\ncustomer_name = "Name"\ncreated_at = "Created"\n'
    (tmp_path / "m.toml").write_text(mapping + ("" if "columns" in mapping else complete))
    result = run("import", "tickets", str(tmp_path / "in.csv"), "--map", str(tmp_path / "m.toml"), "--dry-run")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "internal error" not in lines[0]
    assert names in lines[0] and "; " in lines[0], "the key and, after it, the fix"
