"""Human-readable summaries of a cycle, for the terminal and for Prefect artifacts."""

from __future__ import annotations

from typing import Any

from newswatch.pipeline import CycleSummary
from newswatch.urls import redact


def _get(summary: CycleSummary | dict[str, Any], *path: str) -> Any:
    value: Any = summary
    for key in path:
        value = value[key] if isinstance(value, dict) else getattr(value, key)
    return value


def offline_hint(summary: CycleSummary | dict[str, Any]) -> str | None:
    """The "offline?" hint, only when every feed with a usable address got no answer at all."""
    polled = _get(summary, "poll", "feeds_polled")
    unreachable = _get(summary, "poll", "feeds_unreachable")
    if unreachable and unreachable == polled - _get(summary, "poll", "feeds_bad_url"):
        every = f"All {polled} feeds" if unreachable == polled else f"All {unreachable} feeds with a valid URL"
        return (f"{every} failed without an answer: this machine may be offline or the feed hosts unreachable. "
                "The seed articles are loaded; the next run retries the feeds (failing feeds back off, "
                "up to a day).")
    return None


def summary_lines(summary: CycleSummary | dict[str, Any]) -> list[tuple[str, str]]:
    g = lambda *p: _get(summary, *p)  # noqa: E731
    return [
        ("seeds", f"{g('seeds_loaded')} loaded"),
        ("feeds", f"{g('poll', 'feeds_polled')} polled, {g('poll', 'feeds_failed')} failed, "
                  f"{g('poll', 'feeds_unchanged')} unchanged, {g('poll', 'feeds_not_due')} not due yet"),
        ("entries", f"{g('poll', 'new_entries')} new"),
        ("pages", f"{g('fetch', 'pages_fetched')} fetched, {g('fetch', 'fallbacks')} used the feed's text, "
                  f"{g('fetch', 'failed')} failed, {g('fetch', 'retry_later')} to retry"),
        ("articles", f"{g('store', 'articles_stored')} stored: {g('store', 'new_stories')} new stories, "
                     f"{g('store', 'duplicates')} duplicates of known stories, {g('store', 'off_topic')} off-topic"),
        ("alerts", f"{g('alerts', 'raised')} raised"
                   + "".join(f", {rule} {n}" for rule, n in sorted(g('alerts', 'by_rule').items()))
                   + f"; {g('alerts', 'attached')} copies attached to alerts" + _sent_now(summary)),
    ]


def _sent_now(summary: CycleSummary | dict[str, Any]) -> str:
    """"; 2 messages sent as they happened (email, chat)", for the alerts of immediate rules."""
    try:
        report = _get(summary, "immediate")
    except (KeyError, AttributeError):  # a summary from before alerts were sent as they happen
        return ""
    sent, pending, channels = _get(report, "sent"), _get(report, "pending"), _get(report, "channels")
    if not sent and not pending:
        return ""
    text = f"; {sent} {'message' if sent == 1 else 'messages'} sent as they happened"
    text += f" ({', '.join(channels)})" if sent and channels else ""
    return text + (f" ({pending} to try again next cycle)" if pending else "")


def _seconds(summary: CycleSummary | dict[str, Any]) -> float:
    if isinstance(summary, CycleSummary):
        return summary.seconds
    return (summary["finished_at"] - summary["started_at"]).total_seconds()


def summary_line(summary: CycleSummary | dict[str, Any]) -> str:
    """The cycle in one line, for the run's log on the dashboard (the whole summary is its artifact)."""
    g = lambda *p: _get(summary, *p)  # noqa: E731
    return (f"Cycle {g('cycle_id')} finished in {_seconds(summary):.1f}s: {g('poll', 'feeds_polled')} feeds polled "
            f"({g('poll', 'feeds_failed')} failed), {g('store', 'articles_stored')} articles stored, "
            f"{g('alerts', 'raised')} alerts raised")


def summary_text(summary: CycleSummary | dict[str, Any], db: str) -> str:
    out = [f"Cycle {_get(summary, 'cycle_id')} finished in {_seconds(summary):.1f}s"]
    out += [f"  {label:<9}{text}" for label, text in summary_lines(summary)]
    failures = _get(summary, "poll", "failures")
    if failures:
        out.append("Feeds that failed:")
        out += [f"  {redact(url)}: {redact(error)}" for url, error in failures]
    page_failures = _get(summary, "fetch", "failures")
    if page_failures:
        out.append("Pages that could not be used:")
        out += [f"  {redact(url)}: {redact(error)}" for url, error in page_failures[:20]]
        if len(page_failures) > 20:
            out.append(f"  … and {len(page_failures) - 20} more (SELECT * FROM fetch_failures)")
    problems = _get(summary, "rule_problems")
    if problems:
        out.append("Rule files skipped (the other rules ran):")
        out += [f"  {p}" for p in problems]
    hint = offline_hint(summary)
    if hint:
        out.append(hint)
    out.append(f"Warehouse: {db}")
    return "\n".join(out)


def summary_markdown(summary: CycleSummary | dict[str, Any], db: str) -> str:
    rows = "\n".join(f"| {label} | {text} |" for label, text in summary_lines(summary))
    md = [f"# Cycle {_get(summary, 'cycle_id')}", "", f"Finished in {_seconds(summary):.1f} s; warehouse `{db}`.",
          "", "| | |", "|---|---|", rows]
    failures = _get(summary, "poll", "failures")
    if failures:
        md += ["", "## Feeds that failed", ""] + [f"- `{redact(url)}`: {redact(error)}" for url, error in failures]
    problems = _get(summary, "rule_problems")
    if problems:
        md += ["", "## Rule files skipped", ""] + [f"- `{p}`" for p in problems]
    hint = offline_hint(summary)
    if hint:
        md += ["", f"**{hint}**"]
    return "\n".join(md) + "\n"
