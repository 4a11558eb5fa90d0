"""`canary scan`: find canaries in leaked files. Its own module so that a scan imports only what
scanning needs (start-up is part of every scan's time)."""
from __future__ import annotations

import click

from ..scan import scan_files
from ..scan.runner import default_jobs
from .common import echo_json, echo_table, json_option, with_deployment
from .progress import scan_progress_bar

_LISTED_MATCHES = 50


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--allow-truncated", is_flag=True,
              help="Scan what can be read of a truncated archive instead of refusing it.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: every core). The result does not depend on it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@json_option
@with_deployment
def scan(deployment, files, allow_truncated, jobs, quiet, as_json):
    """Find canaries in leaked files (any format, compressed or not; - for stdin), attribute and date them.

    Example: canary scan leak.csv.gz dump.sql --json
    """
    with scan_progress_bar(quiet) as progress:
        result = scan_files(deployment, list(files), allow_truncated=allow_truncated, jobs=jobs or default_jobs(),
                            progress=progress)
    if as_json:
        echo_json(result.as_dict())
        return
    for file in result.files:
        click.echo(f"{file['path']}: sha256 {file['sha256']}, {file['size']:,} bytes")
        for member in file["members"]:
            click.echo(f"  {member['name']}: {member['description']}, {member['records']:,} {member['unit']}s")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo("")
    if not result.targets:
        click.echo("No canary found: this deployment's canaries are not in these files.")
    else:
        echo_table([_target_row(t) for t in result.targets],
                   ["site", "target", "found", "expected", "probability", "taken_after", "taken_before"])
        for target in result.targets:
            for note in target.notes:
                click.echo(f"note ({target.target}): {note}")
    if result.matches:
        click.echo("")
        rows = [{"canary": h.owner.canary_id or h.owner.token, "kind": h.owner.kind, "found": h.found,
                 "file": h.file, "line": h.line, "counts": "with " + h.corroborated_by if h.corroborated_by else "alone"}
                for h in result.matches]
        echo_table(rows[:_LISTED_MATCHES], ["canary", "kind", "found", "file", "line", "counts"])
        if len(rows) > _LISTED_MATCHES:
            click.echo(f"... and {len(rows) - _LISTED_MATCHES} more matches (--json lists them all)")
    for further in result.further_occurrences:
        click.echo(f"{further['kind']} {further['value']} occurs {further['occurrences']:,} times in {further['file']}: "
                   f"the first {further['listed']} are listed and recorded, the others counted")
    if result.corroborations:
        click.echo(f"\nCorroboration (name and birth date of a canary in one record, not proof alone): "
                   f"{len(result.corroborations)} records")
    for kind, what in (("nir", "NIRs"), ("phone", "phone numbers")):
        lone = sum(count for (found_kind, _), count in result.uncorroborated.items() if found_kind == kind)
        if lone:
            click.echo(f"Canaries' {what} without the canary's own name{' and birth date' if kind == 'phone' else ''} "
                       f"in the record: {lone} records, not counted (a stranger may hold the same value)")
    if result.scan_id is not None:
        click.echo(f"\nRecorded as scan {result.scan_id} (evidence event {result.evidence_seq}).")


def _target_row(target) -> dict:
    return {"site": target.site, "target": target.target, "found": target.canaries_found,
            "expected": target.canaries_expected, "probability": target.probability_text,
            "taken_after": target.taken_after or "?",
            "taken_before": (target.taken_before or "?") + ("" if target.complete else " (partial)")}
