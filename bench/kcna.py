"""The alert rules and relevance on real North Korean news, reviewed by hand.

    python bench/kcna.py --source PATH [--show]

PATH is either a clone of the public repository ``stiles/north-korea-news``
(a git directory, bare or not: every ``data/archive/headlines_*.json`` in its
newest commit is read) or one of its JSON files. Texts are deduplicated and
never copied into this repository.

Every firing of every rule is compared with ``kcna_verdicts.toml``: our
verdicts, keyed by a hash of the article's link and text, with our own note.
It prints, per rule, how many texts it fired on, how many of those we judged
right, and the firings no one has reviewed yet (``--show`` prints each firing
with its snippet, to review it). It also prints how many texts relevance
passes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitors.engine import load_rules  # noqa: E402
from monitors.topic import load_topic  # noqa: E402

VERDICTS = Path(__file__).with_name("kcna_verdicts.toml")


def key_of(item: dict) -> str:
    return hashlib.sha256(f"{item.get('link', '')}\n{item['story_text']}".encode()).hexdigest()[:16]


def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True)


def load_items(source: Path) -> list[dict]:
    """Distinct texts (by text) from a JSON file or a clone of the repository."""
    blobs: list[bytes] = []
    if source.is_file():
        blobs.append(source.read_bytes())
    else:
        git_dir = source / ".git" if (source / ".git").exists() else source
        names = _git(git_dir, "ls-tree", "-r", "--name-only", "HEAD", "data/archive").stdout.decode().split()
        for name in names:
            if "/headlines_" in name and name.endswith(".json"):
                shown = _git(git_dir, "show", f"HEAD:{name}")
                if shown.returncode == 0:  # the largest files of a snapshot may be absent
                    blobs.append(shown.stdout)
    by_text: dict[str, dict] = {}
    for blob in blobs:
        for item in json.loads(blob):
            if isinstance(item, dict) and item.get("story_text"):
                by_text.setdefault(item["story_text"], item)
    return list(by_text.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, type=Path,
                        help="a clone of stiles/north-korea-news, or one of its headlines JSON files")
    parser.add_argument("--show", action="store_true", help="print every firing with its snippet")
    args = parser.parse_args(argv)
    if not args.source.exists():
        print(f"kcna: {args.source} does not exist", file=sys.stderr)
        return 2
    items = load_items(args.source)
    if not items:
        print(f"kcna: no KCNA texts found in {args.source}", file=sys.stderr)
        return 2
    verdicts = tomllib.loads(VERDICTS.read_text("utf-8")) if VERDICTS.exists() else {}
    rules, topic = load_rules(), load_topic()
    print(f"{len(items)} distinct KCNA texts")
    print(f"{'rule':<12}{'fired':>7}{'right':>7}{'wrong':>7}{'unreviewed':>12}{'precision':>11}")
    for rule in rules:
        mine = verdicts.get(rule.id, {})
        fired = [(i, m) for i in items if (m := rule.match(i.get("headline"), i["story_text"]))]
        right = sum(mine.get(key_of(i), {}).get("right") is True for i, _ in fired)
        wrong = sum(mine.get(key_of(i), {}).get("right") is False for i, _ in fired)
        unreviewed = len(fired) - right - wrong
        precision = f"{right / (right + wrong):.3f}" if right + wrong else "-"
        print(f"{rule.id:<12}{len(fired):>7}{right:>7}{wrong:>7}{unreviewed:>12}{precision:>11}")
        if args.show:
            for i, m in fired:
                v = mine.get(key_of(i), {})
                status = {True: "right", False: "WRONG"}.get(v.get("right"), "unreviewed")
                print(f"  [{key_of(i)}] {status}: {i.get('headline', '')[:90]}")
                print(f"      matched {', '.join(m.matched)}: {m.snippet}")
                if v.get("note"):
                    print(f"      note: {v['note']}")
    relevant = sum(topic.judge(i.get("headline"), i["story_text"]).relevant for i in items)
    print(f"relevance passes {relevant} of {len(items)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
