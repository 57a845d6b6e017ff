"""A reply's new part, without the quoted history below (or above) it: for display and search.

The full text is kept beside it (mail_messages.full_text). What counts as quoted history:
lines starting with '>' and the "On ... wrote:" line that introduces them (English, German,
French, Spanish, Dutch, and the Russian of Android's Gmail), wrapped over up to three lines; an
"On ... wrote:" line followed by unmarked text (everything below it); an Outlook block
("-----Original Message-----", or "From: ..." followed by "Sent: ..." in those languages, or a
line of underscores before one) and everything below it. A forward ("Forwarded message",
"Begin forwarded message:") is kept whole: what was forwarded is the point of it. Text written
below or between quotes (bottom posting) is kept.

Written here rather than taken from mail-parser-reply (1.36): that one keeps a bottom-posted
reply's quote (Thunderbird's fixture), keeps the header of an unmarked quote ("--- On ... wrote:"),
and its import costs 50 ms on every `mail ingest -`.
"""

from __future__ import annotations

import re

_WROTE = re.compile(
    # German and Dutch put the verb before the name: "Am ... schrieb Shop <help@shop.example>:"
    r"(wrote|writes|a\s+écrit|escribió|написал|написала)\s*:\s*$|\b(schrieb|schreef)\b.*:\s*$",
    re.IGNORECASE,
)
_HEADER_START = re.compile(r"^\s*(-{2,}\s*)?(on|am|le|el|op)\b|^\s*\d", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|original-nachricht|message d'origine|"
    r"mensaje original|oorspronkelijk bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(from|von|de|van)\s*\*?\s*:\s*\S", re.IGNORECASE)
_SENT = re.compile(r"^\s*\*?(sent|gesendet|envoyé|enviado|verzonden)\s*\*?\s*:\s*\S", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_FORWARD = re.compile(r"forwarded message|begin forwarded message|weitergeleitete nachricht|message transféré", re.I)


def new_part(text: str) -> str:
    """The reply's own text; the whole text when nothing is quoted (or only quotes are left)."""
    lines = text.split("\n")
    kept: list[str] = []
    quoted = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if _FORWARD.search(line):
            return text  # a forward: nothing below it is history to drop
        if _ORIGINAL.match(line) or _outlook_block(lines, index):
            quoted = True
            break
        header = _quote_header(lines, index)
        if header:
            quoted = True
            after = _next_text(lines, index + header)
            if after is None or lines[after].lstrip().startswith(">"):
                index += header  # the header of a '>' quote: drop it, the quote goes below
                continue
            break  # an unmarked quote: the rest is history
        if line.lstrip().startswith(">"):
            quoted = True
        else:
            kept.append(line)
        index += 1
    result = _tidy(kept) if quoted else ""
    return result or text.strip()


def _quote_header(lines: list[str], index: int) -> int:
    """How many lines (1-3) from `index` are an "On ... wrote:" header; 0 when none."""
    for count in (1, 2, 3):
        chunk = lines[index : index + count]
        if len(chunk) < count or any(not part.strip() for part in chunk):
            return 0
        if not chunk[-1].rstrip().endswith(":"):  # every header ends so: the regexes only when it may be one
            continue
        joined = " ".join(part.strip().lstrip("> ").strip() for part in chunk)
        if len(joined) > 300:
            return 0
        if _WROTE.search(joined) and (_HEADER_START.match(joined) or "@" in chunk[0]):
            return count
    return 0


def _outlook_block(lines: list[str], index: int) -> bool:
    """`From: ...` with a `Sent: ...` within the next three lines, or a rule of underscores just above one."""
    if _RULE.match(lines[index]):
        following = _next_text(lines, index + 1)
        return following is not None and bool(_FROM.match(lines[following]))
    if not _FROM.match(lines[index]):
        return False
    return any(_SENT.match(line) for line in lines[index + 1 : index + 4])


def _next_text(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return None


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)
