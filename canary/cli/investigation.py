"""Commands for investigators: scan leaked files, verify the evidence log, write reports."""
from __future__ import annotations

import pathlib

import click

from ..evidence import parse_anchor
from ..report import FORMATS, build_report, format_probability, render
from ..report_signing import ReportCheckError, check_report
from ..scan import scan_files
from ..scan.runner import default_jobs
from ..verification import verify_store
from .common import UserError, echo_json, echo_table, json_option, main, with_deployment
from .progress import scan_progress_bar

_LISTED_MATCHES = 50


@main.command()
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
                 "file": h.file, "line": h.line} for h in result.matches]
        echo_table(rows[:_LISTED_MATCHES], ["canary", "kind", "found", "file", "line"])
        if len(rows) > _LISTED_MATCHES:
            click.echo(f"... and {len(rows) - _LISTED_MATCHES} more matches (--json lists them all)")
    for further in result.further_occurrences:
        click.echo(f"{further['kind']} {further['value']} occurs {further['occurrences']:,} times in {further['file']}: "
                   f"the first {further['listed']} are listed and recorded, the others counted")
    if result.corroborations:
        click.echo(f"\nCorroboration (name and birth date of a canary in one record, not proof alone): "
                   f"{len(result.corroborations)} records")
    lone = sum(result.uncorroborated_phones.values())
    if lone:
        click.echo(f"Canaries' phone numbers without the canary's birth date and name: {lone} records, not counted "
                   "(fiction-range numbers are shared with any fiction)")
    if result.scan_id is not None:
        click.echo(f"\nRecorded as scan {result.scan_id} (evidence event {result.evidence_seq}).")


def _target_row(target) -> dict:
    return {"site": target.site, "target": target.target, "found": target.canaries_found,
            "expected": target.canaries_expected, "probability": format_probability(target.probability, target.p,
                                                                                  target.canaries_found),
            "taken_after": target.taken_after or "?",
            "taken_before": (target.taken_before or "?") + ("" if target.complete else " (partial)")}


@main.group()
def evidence():
    """The evidence log: append-only, hash-chained record of plantings, contacts, sightings."""


@evidence.command("verify")
@json_option
@click.option("--anchor", "anchors", multiple=True, metavar="SEQ:HASH",
              help="A head printed by an earlier verify (or found in a report or an alert): must still hold.")
@with_deployment
def evidence_verify(deployment, as_json, anchors):
    """Recompute the hash chain and check the tables and any anchors against it; exit 1 where it breaks.

    Example: canary evidence verify --anchor 1234:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    """
    verification = verify_store(deployment.store, [parse_anchor(anchor) for anchor in anchors])
    if as_json:
        echo_json(verification.as_dict())
    else:
        click.echo(verification.summary())
    if not verification.ok:
        raise SystemExit(1)


@main.command()
@click.option("--site", help="Report on one site.")
@click.option("--target", help="Report on one target.")
@click.option("--canary", "canary_id", type=int, help="Report on one canary (its id).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option("--check", "check_file", type=click.Path(dir_okay=False, exists=True),
              help="Verify the signature of a report written earlier, instead of writing one.")
@with_deployment
def report(deployment, site, target, canary_id, fmt, output, check_file):
    """Write a signed investigation report (plantings, contacts, sightings, date window, chain check).

    Example: canary report --target lims-prod --format html --output report.html
    """
    secret = deployment.settings.secret
    if check_file:
        try:
            digest = check_report(pathlib.Path(check_file).read_text("utf-8"), secret)
        except (ReportCheckError, UnicodeDecodeError) as error:
            raise UserError(f"{check_file}: {error}") from None
        click.echo(f"{check_file}: signature valid, report unaltered (sha256 {digest})")
        return
    if sum(x is not None for x in (site, target, canary_id)) > 1:
        raise UserError("give at most one of --site, --target, --canary")
    text = render(build_report(deployment, site=site, target=target, canary_id=canary_id), fmt, secret)
    if output:
        pathlib.Path(output).write_text(text, "utf-8")
        click.echo(f"Wrote {output} ({fmt}, signed)")
    else:
        click.echo(text, nl=False)
