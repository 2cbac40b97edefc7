"""The ``newswatch`` command line."""

from __future__ import annotations

import argparse
import errno
import logging
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from newswatch import __version__, settings

log = logging.getLogger("newswatch")

if TYPE_CHECKING:  # the shards module brings hashlib: imported when a shard is asked for
    from newswatch.shards import Shard


class ConsoleHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record arrives: a progress bar
    redirects it, so that a warning prints above the bar instead of through it.
    (Prefect keeps a root handler like this one in place of its own console handler.)"""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def _configure_logging(verbose: int) -> None:
    """What reaches the console: warnings and errors; with -v, also what newswatch and Prefect
    log as they go (each task's "Finished in state …"); -vv, debug records and other libraries' info.

    Prefect's own console handler (in flow runs that ``serve`` starts) follows the same
    level, through ``settings.prefect_defaults``. Records below it still reach the
    Prefect API, so the dashboard shows every run's log.
    """
    settings.prefect_defaults(verbose)
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    handler = ConsoleHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)  # other libraries' info (httpx): -vv
    for name in ("newswatch", "warehouse", "monitors"):  # their info records reach the dashboard
        logging.getLogger(name).setLevel(min(level, logging.INFO))


def _run_flow(feeds: Path, db: Path, host_gap: float | None, all_feeds: bool = False,
              shard: Shard | None = None, dask: str | None = None) -> dict:
    """One monitor cycle in this process, its progress shown here (a bar on a terminal)."""
    from newswatch import progress

    settings.prefect_defaults()
    from flows.api import needs_server, prefect_api
    from flows.monitor import monitor

    if needs_server():
        print("Starting a Prefect server for this run (the first start on a machine can take half a minute)…",
              file=sys.stderr, flush=True)

    with prefect_api(), progress.watching():
        return monitor(feeds=str(feeds), db=str(db), host_gap=host_gap, all_feeds=all_feeds, dask=dask,
                       shard=None if shard is None else shard.index, shards=None if shard is None else shard.count)


def _print_summary(summary: dict, db: Path) -> None:
    from newswatch.report import summary_text

    print(summary_text(summary, str(db)))


def _report_rule_problems() -> list[str]:
    """Load the rules now, before anything is fetched, and say which files were skipped."""
    from monitors.engine import rule_problems

    problems = rule_problems()
    for problem in problems:
        print(f"newswatch: rule file skipped (the other rules work): {problem}", file=sys.stderr)
    return problems


def _writable_db(db: Path) -> bool:
    if db.is_dir():
        print(f"newswatch: {db} is a folder, not a warehouse file (--db names the DuckDB file)", file=sys.stderr)
        return False
    return True


def _shard(text: str) -> Shard:
    from newswatch.shards import parse_shard  # brings hashlib: only when a shard is asked for

    return parse_shard(text)


def cmd_run(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from newswatch.opml import FeedListError, read_opml
    from newswatch.seeds import load_seeds
    from newswatch.urls import canonical_url
    from newswatch.work import cycle_snapshot, cycle_work, next_feed

    feeds, db = settings.feeds_path(args.feeds), settings.db_path(args.db)
    try:
        sources = read_opml(feeds)
        settings.host_gap(args.host_gap)
        settings.scale_mode()
        shard = _shard(args.shard) if args.shard else None
    except (FeedListError, ValueError) as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    if not _writable_db(db):
        return 2
    _report_rule_problems()
    # Whether there is anything to do is read from the warehouse first: Prefect's
    # server starts only for a cycle that will do something.
    now = datetime.now(timezone.utc)
    urls = [s.url for s in sources if shard is None or shard.owns(s.url)]
    snapshot = cycle_snapshot(db, [canonical_url(seed.url) for seed in load_seeds()])
    if not cycle_work(snapshot, urls, now, force=args.all_feeds):
        upcoming = next_feed(snapshot, urls)
        print("Nothing to do: no feed is due and nothing waits in the warehouse"
              + (f"; next poll: {upcoming[0]}, {_ago(upcoming[1], now)}" if upcoming else "")
              + ("" if args.all_feeds else " (--all-feeds polls every feed not backing off now)")
              + f". Warehouse: {db}")
        return 0
    print(f"Polling {len(urls)} feeds from {feeds}" + (f" (shard {shard})" if shard else "") + f" into {db}",
          file=sys.stderr)
    summary = _run_flow(feeds, db, args.host_gap, args.all_feeds, shard, args.dask)
    if "skipped" in summary:
        print(f"newswatch: {summary['skipped']}", file=sys.stderr)
        return 0
    _print_summary(summary, db)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from newswatch.pipeline import load_seeds_stage

    db = settings.db_path(args.db)
    report = load_seeds_stage(db)
    print(f"{report.articles_stored} seed articles added to {db} ({report.already_stored} already there)")
    return 0


def _program() -> str:
    """How to call newswatch from here: the project's own .venv/bin/newswatch when it exists."""
    if settings.CHECKOUT_DIR is None:  # installed from a wheel: the console script on PATH
        return "newswatch"
    exe = settings.CHECKOUT_DIR / ".venv" / "bin" / "newswatch"
    if not exe.exists():
        return "newswatch"
    return _shown_path(exe)


def _shown_path(path: Path) -> str:
    """*path* relative to the current folder when it lies inside it, else as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def demo_next_commands(program: str, db: str) -> list[str]:
    """Commands worth trying after the demo, each on the demo's warehouse."""
    import shlex

    p, d = shlex.quote(program), shlex.quote(db)
    return [
        f"{p} search --db {d} 拉致被害者",
        f"{p} rules test --db {d}",
        f"{p} query --db {d} {shlex.quote('SELECT story_id, copies, outlets FROM stories ORDER BY copies DESC LIMIT 5')}",
        f"{p} digest --db {d} --preview",
    ]


def cmd_demo(args: argparse.Namespace) -> int:
    from newswatch.demo.server import DemoNewsroom

    db = Path(args.db) if args.db else settings.DEMO_DB
    room = DemoNewsroom(base_port=args.port)
    try:
        room.start()
    except OSError as exc:
        print(f"newswatch: cannot start the demo newsroom on port {args.port}: {exc} "
              "(try --port 0 for free ports)", file=sys.stderr)
        return 2
    try:
        print("Demo newsroom serving on 127.0.0.1:")
        for src in room.feeds():
            print(f"  {src.title:<32} {src.url}")
        if args.serve:
            opml = room.write_opml(Path(args.opml) if args.opml else settings.DEMO_FEEDS)
            print(f"Feed list written to {opml}. Serving until Ctrl-C.")
            try:
                room.threads[0].join()
            except KeyboardInterrupt:
                print("Stopped.")
            return 0
        with tempfile.TemporaryDirectory() as tmp:
            opml = room.write_opml(Path(tmp) / "demo.opml")
            print(f"Running one cycle into {db}")
            summary = _run_flow(opml, db, args.host_gap, all_feeds=True)
        if "skipped" in summary:
            print(f"newswatch: {summary['skipped']}", file=sys.stderr)
            return 0
        _print_summary(summary, db)
        print("\nNext, on the demo's warehouse:")
        for line in demo_next_commands(_program(), _shown_path(db)):
            print(f"  {line}")
        return 0
    finally:
        room.stop()


def cmd_digest(args: argparse.Namespace) -> int:
    settings.prefect_defaults()
    from newswatch import digest as digests
    from newswatch.work import digest_snapshot, digest_work
    from warehouse.connection import NoWarehouse, require_warehouse

    try:
        tz = settings.timezone_name(args.timezone)
        if not args.preview:
            settings.smtp_from_env()  # a configuration mistake is an error message, before anything runs
    except ValueError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    db, outbox = settings.db_path(args.db), settings.outbox_path(args.outbox)
    try:
        require_warehouse(db)  # a digest reads the warehouse; it never creates one
    except NoWarehouse as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    if outbox.exists() and not outbox.is_dir():
        print(f"newswatch: the outbox {outbox} is a file; --outbox names a folder (created when missing)",
              file=sys.stderr)
        return 2
    problems = _report_rule_problems()
    if args.preview:
        preview = digests.preview_digest(db, outbox, tz, problems)
        if preview.status == "empty":
            print("No undelivered alerts and no feed in trouble: the next digest would be empty.")
            return 0
        print(f"Preview of the next digest (nothing marked delivered): {preview.subject}")
        for path in preview.files:
            print(f"  {path}")
        return 0
    # Nothing pending: say so without starting Prefect's server.
    if not digest_work(digest_snapshot(db), problems):
        print("No undelivered alerts and no feed in trouble: nothing sent.")
        return 0
    from flows.api import needs_server, prefect_api
    from flows.digest import digest

    if needs_server():
        print("Starting a Prefect server for this digest…", file=sys.stderr, flush=True)

    with prefect_api():
        result = digest(db=str(db), outbox=str(outbox), timezone=tz)
    if result["status"] == "empty":
        print("No undelivered alerts and no feed in trouble: nothing sent.")
        return 0
    if result["status"] == "failed":
        print(f"Digest not delivered; its {result['alerts']} alerts stay pending: {result['error']}", file=sys.stderr)
        if result["files"]:
            print("Written to the outbox, marked not sent:", file=sys.stderr)
        for path in result["files"]:
            print(f"  {path}", file=sys.stderr)
        return 1
    print(f"Digest {result['digest_id']}: {result['subject']}; {result['alerts']} alerts delivered via "
          f"{', '.join(result['channels'])}")
    for path in result["files"]:
        print(f"  {path}")
    return 0


def _ago(when, now) -> str:
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds / size:.0f}{unit}"
            break
    else:
        text = f"{seconds:.0f}s"
    return f"in {text}" if future else f"{text} ago"


def cmd_feeds(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from newswatch.urls import redact
    from warehouse.readers import read_query

    db = settings.db_path(args.db)
    try:
        result = read_query(db, """SELECT status, title, url, last_status, last_new_item_at, consecutive_failures,
                                          next_poll_at, last_error, charset_note FROM feed_health
                                   ORDER BY status = 'ok', status, title""")
    except FileNotFoundError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    now = datetime.now(timezone.utc)
    table = [
        (status, title or redact(url), http or "-", _ago(last_new, now), failures,
         "now" if next_poll is None or next_poll <= now else _ago(next_poll, now), redact(error) or "",
         charset_note or "")
        for status, title, url, http, last_new, failures, next_poll, error, charset_note in result.rows
    ]
    print_table(["status", "feed", "http", "last new item", "failures", "next poll", "last error", "charset"], table)
    counts: dict[str, int] = {}
    for row in table:
        counts[row[0]] = counts.get(row[0], 0) + 1
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no feeds polled yet", file=sys.stderr)
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from warehouse.connection import is_lake_file
    from warehouse.lake import maintain

    db = settings.db_path(args.db)
    if not is_lake_file(db):
        print(f"newswatch: {db} is a DuckDB file, which keeps itself in order; maintain is for the "
              "at-scale warehouse (a lake file, *.toml)", file=sys.stderr)
        return 2
    print(f"Maintaining the lake named by {db} (keeping {args.keep_days:g} days of snapshots) …", file=sys.stderr)
    print(maintain(db, keep_days=args.keep_days).line())
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from newswatch.search import result_lines, tokens
    from warehouse.search import search

    db = settings.db_path(args.db)
    if not db.exists():
        print(f"newswatch: no warehouse at {db}; run a cycle first", file=sys.stderr)
        return 2
    query_tokens = tokens(args.terms)
    if not query_tokens:
        print("newswatch: nothing to search for", file=sys.stderr)
        return 2
    hits = search(db, query_tokens, limit=args.limit)
    if not hits:
        print(f"No article matches {args.terms!r}.", file=sys.stderr)
        return 1
    for line in result_lines(hits, args.terms):
        print(line)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from newswatch.serve import ScheduleError, ServeError, check_schedules, serve

    try:
        check_schedules(args.interval, args.digest_cron, settings.timezone_name(args.timezone))
    except (ScheduleError, ValueError) as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    db = settings.db_path(args.db)
    if not _writable_db(db):
        return 2
    _report_rule_problems()

    try:
        serve(args.feeds, args.db, args.outbox, args.interval, args.digest_cron, args.timezone, args.port)
    except ScheduleError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    except ServeError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_rules_list(args: argparse.Namespace) -> int:
    from monitors.engine import load_rule_set

    rule_set = load_rule_set()
    for rule in rule_set.rules:
        delivery = "sent as it happens and in the digest" if rule.delivery == "immediate" else "in the digest"
        print(f"{rule.id}: {rule.name}  (severity {rule.severity}, {delivery}, version {rule.version}, {rule.path})")
        print("  " + " ".join(rule.description.split()))
    if rule_set.problems:
        print(f"\n{len(rule_set.problems)} rule {'file' if len(rule_set.problems) == 1 else 'files'} "
              "could not be loaded (skipped; the other rules work):")
        for problem in rule_set.problems:
            print(f"  {problem}")
        return 1
    return 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from newswatch.alerts import backtest

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print(f"newswatch: --since wants a date like 2026-11-01, not {args.since!r}", file=sys.stderr)
            return 2
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
    db = settings.db_path(args.db)
    if not db.exists():
        print(f"newswatch: no warehouse at {db}; run a cycle first", file=sys.stderr)
        return 2
    _report_rule_problems()
    try:
        rules, hits, scanned = backtest(db, args.rule, since)
    except KeyError as exc:
        print(f"newswatch: {exc.args[0]}", file=sys.stderr)
        return 2
    for rule in rules:
        mine = [h for h in hits if h.rule == rule.id]
        stories = {h.story_id for h in mine}
        print(f"== {rule.id} (version {rule.version}): {len(mine)} articles, {len(stories)} stories would match")
        for h in mine:
            seed = " [seed]" if h.is_seed else ""
            print(f"- #{h.article_id} story {h.story_id}{seed} {h.source or ''}: {h.title or '(untitled)'}")
            print(f"    matched {', '.join(h.match.matched)} in {h.match.field}: {h.match.snippet}")
    print(f"{scanned} relevant articles replayed" + (f" since {since:%Y-%m-%d}" if since else "") + "; nothing was written.")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    import json

    from newswatch.charset import decode_html
    from newswatch.extract import extract_page

    failed = 0
    for name in args.pages:
        path = Path(name)
        try:
            body = path.read_bytes()
        except OSError as exc:
            print(f"newswatch: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
            failed += 1
            continue
        html, _encoding = decode_html(body)
        page = extract_page(html, path.resolve().as_uri(), headline=args.headline, summary=args.summary, explain=True)
        if page.error or not page.text:
            print(f"newswatch: {name}: {page.error or 'no main text found'}", file=sys.stderr)
            failed += 1
        record = {"file": name, "title": page.title, "date": page.date.isoformat() if page.date else None,
                  "language": page.language, "method": page.method, "fallback_reason": page.fallback_reason,
                  "text": page.text, "error": page.error, "removed": list(page.removed)}
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
        elif page.text:
            print(f"== {name}")
            for key in ("title", "date", "language", "method", "fallback_reason"):
                print(f"{key.replace('_', ' ') + ':':<17}{record[key] if record[key] is not None else '-'}")
            print(f"{'chrome removed:':<17}{len(page.removed)} block(s)")
            for line in page.removed:
                print(f"  - {line}")
            print()
            print(page.text)
            print()
    return 1 if failed else 0


def cmd_rejudge(args: argparse.Namespace) -> int:
    from newswatch.rejudge import rejudge

    db = settings.db_path(args.db)
    if not db.exists():
        print(f"newswatch: no warehouse at {db}; run a cycle first", file=sys.stderr)
        return 2

    from newswatch import progress
    from newswatch.pipeline import CycleBusy

    try:
        with progress.watching() as shown:
            report = rejudge(db, alerts=args.alerts, progress=shown)
    except CycleBusy as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 3
    print(f"{report.articles} articles judged again: {report.became_relevant} became relevant "
          f"({report.joined_stories} joined an existing story), {report.became_off_topic} became off-topic, "
          f"{report.reasons_changed} kept their verdict with a new reason.")
    if report.alerts is not None:
        print(f"Alerts: {report.alerts.raised} raised, {report.alerts.attached} copies attached to existing alerts.")
    elif report.became_relevant:
        print("No alerts raised for them (use --alerts to raise them).")
    return 0


def _format_cell(value: object, width: int = 60) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _width(text: str) -> int:
    """Columns *text* takes in a terminal: East Asian wide characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def print_table(columns: list[str], rows: list[tuple], out=sys.stdout) -> None:
    cells = [[_format_cell(v) for v in row] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(_pad(c, w) for c, w in zip(columns, widths)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in cells:
        print("  ".join(_pad(v, w) for v, w in zip(r, widths)).rstrip(), file=out)


def cmd_eval(args: argparse.Namespace) -> int:
    from monitors.engine import load_rules
    from monitors.evaluate import EvalInputError, checks_of, disagreements, format_report, read_jsonl, run, score
    from monitors.topic import load_topic

    _report_rule_problems()
    rules = load_rules()
    checks = checks_of(rules)
    try:
        items = read_jsonl(Path(args.file), checks)
    except EvalInputError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    outcomes = run(items, load_topic(), rules)
    labelled = any(o.item.labels for o in outcomes)
    if not labelled or args.all:
        print(f"What fires on {len(outcomes)} texts:")
        for o in outcomes:
            fired = [c for c in checks if o.predicted[c]]
            print(f"- {o.item.id} [{o.item.language}] {o.item.title[:70] or o.item.body[:70]}: "
                  + (", ".join(fired) if fired else "nothing"))
            for check in fired[1:] if fired and fired[0] == "relevant" else fired:
                print(f"    {check}: {o.why[check]}")
        if not labelled:
            print("(no labels in the file: add \"relevant\", " + ", ".join(f'"{r.id}"' for r in rules)
                  + " as true or false to score them)")
            return 0
    report = score(outcomes, checks)
    print(f"{len(outcomes)} labelled texts")
    print(format_report(report))
    wrong = disagreements(outcomes, checks)
    print(f"\n{len(wrong)} disagreements" + (":" if wrong else ""))
    for o, check, kind in wrong:
        print(f"- {o.item.id} [{o.item.language}] {check} {kind}: {o.item.title[:80] or o.item.body[:80]}")
        if o.why[check] and (check != "relevant" or o.predicted[check]):
            print(f"    matched: {o.why[check]}")
        elif check == "relevant":
            print(f"    {o.why[check]}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from newswatch.export import WRITERS
    from warehouse.readers import export_query, read_query

    db = settings.db_path(args.db)
    if not args.sql.strip():
        print('newswatch: no SQL given; for example: newswatch query "SELECT * FROM stories LIMIT 10"',
              file=sys.stderr)
        return 2
    state = {"told": False}

    def waiting(seconds: float) -> None:
        if not state["told"]:
            print("The warehouse is busy (a cycle is writing); waiting…", file=sys.stderr, flush=True)
            state["told"] = True

    try:
        if args.format == "parquet" or (args.output and args.format in ("csv", "json")):
            if not args.output:
                print("newswatch: --format parquet needs --output FILE", file=sys.stderr)
                return 2
            waited = export_query(db, args.sql, args.output, args.format, wait=args.wait, on_wait=waiting)
            print(f"Wrote {args.output}", file=sys.stderr)
        else:
            result = read_query(db, args.sql, wait=args.wait, on_wait=waiting)
            waited = result.waited
            if args.format in WRITERS:
                WRITERS[args.format](result.columns, result.rows, sys.stdout)
            else:
                shown = result.rows[: args.max_rows]
                print_table(result.columns, shown)
                more = len(result.rows) - len(shown)
                print(f"({len(result.rows)} rows" + (f"; {more} not shown, see --max-rows" if more > 0 else "") + ")",
                      file=sys.stderr)
    except FileNotFoundError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    except duckdb_errors() as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return 2
    if state["told"]:
        print(f"(waited {waited:.2f}s for the warehouse)", file=sys.stderr)
    return 0


def duckdb_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    # Errors in the user's SQL: a message, not a traceback. A lock that never
    # clears is WarehouseBusy, handled in main().
    return (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException,
            duckdb.InvalidInputException, duckdb.ConversionException, duckdb.PermissionException,
            duckdb.NotImplementedException, duckdb.OutOfRangeException)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="A news monitor for Japan–North Korea relations: polls feeds, extracts and "
                    "deduplicates articles, and stores them in DuckDB.",
    )
    parser.add_argument("--version", action="version", version=f"newswatch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(p: argparse.ArgumentParser, feeds: bool = True, outbox: bool = False) -> None:
        if feeds:
            p.add_argument("--feeds", metavar="FILE",
                           help="OPML feed list (env NEWSWATCH_FEEDS; default: seeds/feeds.opml)")
        p.add_argument("--db", metavar="FILE",
                       help="DuckDB warehouse file, or a lake file (*.toml) naming the at-scale warehouse "
                            "(env NEWSWATCH_DB; default: newswatch.duckdb in the project folder)")
        if outbox:
            p.add_argument("--outbox", metavar="DIR",
                           help="where digest files go (env NEWSWATCH_OUTBOX; default: outbox/ in the project folder)")

    run = sub.add_parser("run", help="run one monitoring cycle (the main job)",
                         description="Load the seeds, poll every due feed, fetch and extract new articles, "
                                     "deduplicate them and append them to the warehouse, then print a summary.")
    common(run)
    run.add_argument("--host-gap", type=float, metavar="SECONDS",
                     help="minimum gap between two requests to one host (env NEWSWATCH_HOST_GAP; default 1.0)")
    run.add_argument("--all-feeds", action="store_true",
                     help="poll every feed now, not only those due (feeds backing off after failures still wait)")
    run.add_argument("--dask", metavar="ADDRESS",
                     help="extract pages on the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 (env NEWSWATCH_DASK; "
                          "default: on this machine; an unreachable scheduler is a warning and local extraction)")
    run.add_argument("--shard", metavar="K/N",
                     help="run shard K of N (from 0): only the feeds of that shard and their entries; "
                          "other shards' runs may go on at the same time")
    run.set_defaults(func=cmd_run)

    seed = sub.add_parser("seed", help="load the seed articles only",
                          description="Store the seed articles in the warehouse (idempotent).")
    common(seed, feeds=False)
    seed.set_defaults(func=cmd_seed)

    demo = sub.add_parser("demo", help="run a cycle against the built-in demo newsroom (no internet needed)",
                          description="Start the demo newsroom (fixture outlets on 127.0.0.1) and run one "
                                      "monitoring cycle against it, or just serve it with --serve.")
    demo.add_argument("--db", metavar="FILE", help="warehouse for the demo (default: demo.duckdb in the project folder)")
    demo.add_argument("--port", type=int, default=8701,
                      help="first port; outlets take consecutive ports (default 8701; 0 picks free ports)")
    demo.add_argument("--host-gap", type=float, default=0.2, metavar="SECONDS",
                      help="politeness gap between requests to one outlet (default 0.2)")
    demo.add_argument("--serve", action="store_true", help="only serve the newsroom until Ctrl-C")
    demo.add_argument("--opml", metavar="FILE", help="with --serve: where to write the feed list")
    demo.set_defaults(func=cmd_demo)

    srv = sub.add_parser("serve", help="run monitor and digest on their schedules until stopped",
                         description="Serve the monitor deployment (every --interval seconds) and the digest "
                                     "deployment (--digest-cron) from this process. Without PREFECT_API_URL it "
                                     "starts a Prefect server of its own on 127.0.0.1 and stops it on exit. "
                                     "Ctrl-C or SIGTERM stops cleanly.")
    common(srv, outbox=True)
    srv.add_argument("--interval", type=float, default=900, metavar="SECONDS",
                     help="how often the monitor cycle runs (default 900: every 15 minutes)")
    srv.add_argument("--digest-cron", default="0 8 * * *", metavar="CRON",
                     help="when the digest goes out (default '0 8 * * *')")
    srv.add_argument("--timezone", default=None, metavar="ZONE",
                     help="time zone of --digest-cron and of the digest's times (env NEWSWATCH_TIMEZONE; "
                          f"default {settings.DEFAULT_TIMEZONE})")
    srv.add_argument("--port", type=int, default=None, help="port of the Prefect server it starts (default: a free one)")
    srv.set_defaults(func=cmd_serve)

    dig = sub.add_parser("digest", help="send the undelivered alerts as one digest",
                         description="Gather undelivered alerts and deliver them once: as text, HTML and "
                                     "Markdown files in the outbox, by e-mail when NEWSWATCH_SMTP_HOST is set, "
                                     "and as a chat summary when NEWSWATCH_APPRISE_URLS is set.")
    common(dig, feeds=False, outbox=True)
    dig.add_argument("--timezone", metavar="ZONE",
                     help="time zone of the times shown (env NEWSWATCH_TIMEZONE; default "
                          f"{settings.DEFAULT_TIMEZONE}, the digest schedule's)")
    dig.add_argument("--preview", action="store_true",
                     help="write what the next digest would send to preview/ in the outbox; send nothing, "
                          "mark nothing delivered")
    dig.set_defaults(func=cmd_digest)

    feeds_cmd = sub.add_parser("feeds", help="list each feed's health and next poll",
                               description="List every polled feed: ok, failing, silent (much quieter than its "
                                           "usual rhythm) or new; its last HTTP status, last new item, consecutive "
                                           "failures, next poll and last error, and how its charset was settled when "
                                           "it was not as declared (\"charset not declared; detected Shift_JIS\").")
    common(feeds_cmd, feeds=False)
    feeds_cmd.set_defaults(func=cmd_feeds)

    search = sub.add_parser("search", help="full-text search in English, Japanese and Korean",
                            description="Rank the relevant articles that contain every word of the query "
                                        "(BM25). Japanese and Korean are matched by character pairs, so "
                                        "拉致 or 납북자 find words without spaces around them. Each result "
                                        "shows its headline, outlet, date, story, link, and the passage "
                                        "where the query first occurs, its words [in brackets].")
    search.add_argument("terms", help='what to look for, e.g. "拉致被害者" or "Megumi Yokota"')
    search.add_argument("--limit", type=int, default=20, help="how many results (default 20)")
    common(search, feeds=False)
    search.set_defaults(func=cmd_search)

    query = sub.add_parser("query", help="run SQL on the warehouse (read-only) and print the result",
                           description="Run one SQL statement on the warehouse, opened read-only, and print "
                                       "the result as a table, CSV or JSON, or write it to a file (CSV, JSON, "
                                       "Parquet). While a cycle is writing, it waits and then runs. "
                                       "Views: articles, stories, feeds, alerts, fetch_failures, cycles.")
    query.add_argument("sql", help='the SQL, e.g. "SELECT * FROM stories ORDER BY copies DESC LIMIT 10"')
    query.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table",
                       help="output format (default table; parquet needs --output). CSV and JSON: list and "
                            "struct columns (alerts.matched) are JSON, an array in JSON and the same JSON text "
                            'in a CSV cell (["Prime Minister","Koizumi"]); NULL is null, or an empty cell')
    query.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of the terminal")
    query.add_argument("--max-rows", type=int, default=100, metavar="N", help="rows shown as a table (default 100)")
    query.add_argument("--wait", type=float, default=120.0, metavar="SECONDS",
                       help="how long to wait for a writing cycle to let go of the file (default 120)")
    common(query, feeds=False)
    query.set_defaults(func=cmd_query)

    ev = sub.add_parser("eval", help="score relevance and the alert rules on labelled texts (JSONL)",
                        description="Run relevance and every alert rule over texts in a JSON Lines file, one "
                                    'object a line: {"title": …, "body": …, "language": "en|ja|ko" (optional), '
                                    '"relevant": true|false, "summit": true|false, "abductees": true|false} '
                                    "(labels optional). With labels it prints precision, recall and F1 per "
                                    "check and language, and every disagreement with the terms that fired; "
                                    "without labels it lists what fires. Nothing is written.")
    ev.add_argument("file", help="the JSON Lines file, e.g. bench/corpus/corpus.jsonl")
    ev.add_argument("--all", action="store_true", help="also list what fires on every text")
    ev.set_defaults(func=cmd_eval)

    ext = sub.add_parser("extract", help="show what the extractor keeps of saved pages",
                         description="Extract the main text of saved HTML pages as a cycle would and print it "
                                     "with the title, date, language, the method kept and, when the first "
                                     "extractor's text failed the check (a teaser list, or unrelated to the "
                                     "headline), why a fallback was taken. Nothing is written.")
    ext.add_argument("pages", nargs="+", metavar="PAGE.html", help="saved pages (any charset)")
    ext.add_argument("--headline", help="the feed entry's title to check the text against (default: the page's own)")
    ext.add_argument("--summary", help="the feed entry's summary to check the text against")
    ext.add_argument("--json", action="store_true",
                     help="one JSON object per page (JSONL): file, title, date, language, method, "
                          "fallback_reason, text, error, removed (the blocks of chrome taken out first)")
    ext.set_defaults(func=cmd_extract)

    mt = sub.add_parser("maintain", help="the at-scale warehouse's upkeep: compact files, expire old snapshots",
                        description="Flush rows the lake's catalog holds inline to Parquet, merge small files, "
                                    "expire snapshots older than --keep-days and delete the files no snapshot "
                                    "needs. For the at-scale warehouse only (a lake file).")
    common(mt, feeds=False)
    mt.add_argument("--keep-days", type=float, default=7.0, metavar="DAYS",
                    help="keep snapshots (time travel) and files for this many days (default: 7)")
    mt.set_defaults(func=cmd_maintain)

    rules = sub.add_parser("rules", help="list the alert rules, or replay them over the archive",
                           description="Work with the alert rules in monitors/rules/.")
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", required=True)
    rl = rules_sub.add_parser("list", help="list the rules with their versions",
                              description="List each rule with its severity, version (a hash of its definition) and file.")
    rl.set_defaults(func=cmd_rules_list)
    rt = rules_sub.add_parser("test", help="show what the rules would fire on over the archive",
                              description="Replay the rules over the relevant articles in the warehouse (seeds "
                                          "included) and show what would have fired, without writing anything.")
    rt.add_argument("--rule", metavar="ID", help="only this rule")
    rt.add_argument("--since", metavar="DATE", help="only articles published (or first seen) since DATE (YYYY-MM-DD)")
    common(rt, feeds=False)
    rt.set_defaults(func=cmd_rules_test)
    rj = sub.add_parser("rejudge", help="apply the current topic definition to the whole archive",
                        description="Judge every stored article again with the current topic definition "
                                    "(monitors/topic.toml) and record the new verdicts and reasons. An article "
                                    "that becomes relevant joins the story of an earlier copy, or starts its own; "
                                    "one that becomes off-topic leaves its story. Safe to interrupt and run again. "
                                    "Alerts for articles that become relevant are raised only with --alerts.")
    rj.add_argument("--alerts", action="store_true",
                    help="run the alert rules on the articles that became relevant (each alert is raised once)")
    common(rj, feeds=False)
    rj.set_defaults(func=cmd_rejudge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head, less, …
        sys.stderr.close()
        return 0
    except Exception as exc:  # the last line of defence: a message, not a traceback
        plain = error_message(exc)
        if plain is None:
            raise
        message, code = plain
        print(f"newswatch: {message}", file=sys.stderr)
        return code


_DUCKDB_FILE = re.compile(r'file "([^"]+)"')


def error_message(exc: BaseException) -> tuple[str, int] | None:
    """The plain message and exit code for an error a user can cause or fix; None for a bug.

    Each kind of file problem gets its own message; the hint about a full disk
    or a read-only folder only where one of those is the cause.
    """
    import duckdb

    from monitors.engine import RuleError
    from warehouse import WarehouseBusy
    from warehouse.connection import NoWarehouse

    text = str(exc)
    if isinstance(exc, NoWarehouse):
        return text, 2
    if isinstance(exc, duckdb.CatalogException):
        return (f"{text}\n(an older warehouse is upgraded by the next `newswatch run` or `newswatch seed`)", 2)
    if isinstance(exc, (WarehouseBusy, RuleError)):
        return text, 3
    if not isinstance(exc, (duckdb.IOException, OSError)) and not (
            isinstance(exc, duckdb.Error) and "Could not write" in text):
        return None
    named = _DUCKDB_FILE.search(text)
    where = getattr(exc, "filename", None) or (named.group(1) if named else None)
    errno_ = getattr(exc, "errno", None)
    if "not a valid DuckDB database file" in text:
        return f"{where or 'the file'} is not a DuckDB warehouse (is --db pointing at the right file?)", 2
    if errno_ == errno.EISDIR or "Is a directory" in text:
        return f"{where or 'the path'} is a folder where a file was expected", 2
    if errno_ in (errno.ENOTDIR, errno.EEXIST) or "Not a directory" in text:
        return f"{where or 'the path'}: a file is in the way where a folder was expected", 2
    if errno_ in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return f"permission denied: {where or text}", 4
    if errno_ in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) or any(
            s in text for s in ("No space left", "Read-only file system", "Could not write")):
        # Nothing half-written stays behind: every write is one transaction.
        return (f"could not write {where or 'a file'}: {exc}\n"
                "(is the disk full, or the folder read-only? Nothing was half-written.)"), 4
    return f"could not read or write {where or 'a file'}: {exc}", 4


if __name__ == "__main__":
    sys.exit(main())
