"""Commands that put canaries into targets and watch them: plant, check, retire, rotate, confirm."""
from __future__ import annotations

import contextlib
import datetime as dt
import random
import sys

import click

from ..summaries import listing
from ..planting import plant as planting
from .common import UserError, echo_json, echo_table, json_option, with_deployment


def _summary(planted) -> dict:
    patient = planted.canary["patient"]
    counts: dict[str, int] = {}
    for row in planted.rows:
        counts[row["table"]] = counts.get(row["table"], 0) + 1
    return {"canary": planted.canary["id"], "name": f"{patient['first_name']} {patient['last_name']}",
            "birth_date": patient["birth_date"], "email": patient["email"], "phone": patient["phone"],
            "rows": ", ".join(f"{t} {n}" for t, n in counts.items())}


def _echo_rows(planted) -> None:
    for row, values in zip(planted.rows, planted.fingerprint):
        key = ", ".join(f"{c}={v}" for c, v in row["key"].items() if not isinstance(v, dict))
        shown = ", ".join(f"{c}={v!r}" for c, v in values.items())
        click.echo(f"  {row['table']} ({key or 'new'}): {shown}")


@contextlib.contextmanager
def _progress_bar(total: int, label: str):
    """A bar on stderr when it is a terminal and there is something to wait for; nothing on a pipe."""
    if total < 20 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        state = {"done": 0}

        def advance(done: int) -> None:
            bar.update(done - state["done"])
            state["done"] = done
        yield advance


class Duration(click.ParamType):
    """A period written 90d, 12w or 36h."""
    name = "period"
    _UNITS = {"h": "hours", "d": "days", "w": "weeks"}

    def convert(self, value, param, ctx):
        if isinstance(value, dt.timedelta):
            return value
        text = str(value).strip().lower()
        if len(text) < 2 or text[-1] not in self._UNITS or not text[:-1].isdigit():
            self.fail(f"{value!r}: write a number of hours, days or weeks: 36h, 90d, 12w", param, ctx)
        return dt.timedelta(**{self._UNITS[text[-1]]: int(text[:-1])})


@click.command()
@click.argument("target_name", metavar="TARGET")
@click.option("--count", type=click.IntRange(min=1, max=10_000), default=1, show_default=True,
              help="How many canaries to plant.")
@click.option("--over", type=Duration(), help="Spread them over this period (90d, 12w, 36h): `canary rotate` "
              "plants them a few at a time, among the host's own new registrations.")
@click.option("--dry-run", is_flag=True, help="Print the rows that would be written; write nothing.")
@click.option("--seed", type=int, help="Same seed, same canaries and rows (default: random).")
@json_option
@with_deployment
def plant(deployment, target_name, count, over, dry_run, seed, as_json):
    """Generate canaries and write them into a target in one transaction, or schedule them with --over.

    Example: canary plant lims-prod --count 20 --over 90d
    """
    if over is not None:
        if dry_run or seed is not None:
            raise UserError("--over schedules canaries for `canary rotate`: --dry-run and --seed do not apply")
        scheduled = planting.schedule(deployment, target_name, count, over)
        if as_json:
            echo_json(scheduled)
            return
        click.echo(f"Scheduled {count} canaries for {target_name} from {scheduled['starts_at'][:16]} to "
                   f"{scheduled['ends_at'][:16]} UTC: `canary rotate` (daily, from a timer) plants them as they "
                   "fall due.")
        return
    rng = random.Random(seed) if seed is not None else None
    with _progress_bar(count, f"Planting into {target_name}") as advance:
        result = planting.plant_into_target(deployment, target_name, count, dry_run=dry_run, rng=rng,
                                            progress=advance)
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    if as_json:
        echo_json({"target": result.target["name"], "state": result.state, "scripts": result.scripts,
                   "canaries": [{**_summary(p), "rows": p.rows, "values": p.fingerprint} for p in result.canaries]})
        return
    kind = result.target["kind"]
    total = sum(len(p.rows) for p in result.canaries)
    if dry_run:
        click.echo(f"Dry run: would plant {count} canaries in {target_name} ({kind}), {total} rows; nothing written.")
        for planted in result.canaries:
            click.echo(f"canary {_summary(planted)['name']}")
            _echo_rows(planted)
        if result.script_text:
            click.echo(result.script_text, nl=False)
        return
    if result.state == "planted":
        click.echo(f"Planted {count} canaries in {target_name} ({kind}): {total} rows.")
    elif kind == "manual":
        click.echo(f"Registered {count} canaries for {target_name}: enter them by hand, then run "
                   f"`canary confirm {target_name}`.")
        for planted in result.canaries:
            click.echo(f"canary {planted.canary['id']}")
            for name, value in listing.flatten(planted.canary["patient"]).items():
                if value not in (None, ""):
                    click.echo(f"  {name}: {value}")
    else:
        click.echo(f"Wrote {total} rows for {count} canaries to review and apply, then run "
                   f"`canary confirm {target_name} --script FILE`:")
        for path in result.scripts:
            click.echo(f"  {path}")
    echo_table([_summary(p) for p in result.canaries], ["canary", "name", "birth_date", "email", "phone", "rows"])


@click.command()
@click.argument("target_name", metavar="TARGET")
@json_option
@with_deployment
def check(deployment, target_name, as_json):
    """Report canaries missing from or altered in a target; exit 2 if any is, or if canaries are still pending.

    Example: canary check lims-prod
    """
    report = planting.check_target(deployment, target_name)
    # Pending canaries (a script not applied yet) are not in the target: the check is not clean until they are.
    pending = planting.pending_count(deployment, target_name)
    if as_json:
        echo_json([{"canary": c.canary_id, "status": c.status, "problems": c.problems} for c in report]
                  + [{"pending": pending}] * bool(pending))
    else:
        counts = {s: sum(c.status == s for c in report) for s in ("present", "missing", "altered")}
        click.echo(f"{target_name}: {len(report)} canaries planted: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        if pending:
            click.echo(f"  {pending} canaries pending: not counted until the script is applied (or they are "
                       f"typed in) and `canary confirm {target_name}` is run")
        for checked in report:
            if checked.status != "present":
                click.echo(f"  canary {checked.canary_id} {checked.status}: " + "; ".join(checked.problems))
    if pending or any(c.status != "present" for c in report):
        click.get_current_context().exit(2)


@click.command()
@click.argument("target_name", metavar="TARGET")
@click.option("--canary", "canary_id", type=int, help="Only this canary.")
@click.option("--before", help="Only canaries planted before this time (ISO 8601, UTC).")
@click.option("--all", "everything", is_flag=True, help="Every canary of the target.")
@json_option
@with_deployment
def retire(deployment, target_name, canary_id, before, everything, as_json):
    """Delete canaries' rows from a target and record when they were removed.

    Example: canary retire lims-prod --before 2026-01-01
    """
    if (canary_id is not None) + (before is not None) + everything != 1:
        raise UserError("give exactly one of --canary ID, --before DATE, --all")
    plantings, scripts = planting.retire(deployment, target_name, canary_id=canary_id, before=before)
    rows = sum(len(p["rows"]) for p in plantings)
    if as_json:
        echo_json({"target": target_name, "retired": [p["canary_id"] for p in plantings], "rows": rows,
                   "scripts": [str(path) for path in scripts]})
        return
    click.echo(f"Retired {len(plantings)} canaries from {target_name} ({rows} rows).")
    for path in scripts:
        click.echo(f"  apply {path}")


def _rotation_dict(rotation) -> dict:
    """One target's rotation for --json: what was planted, or why nothing was."""
    result = rotation.result
    return {"target": rotation.target, "error": str(rotation.error) if rotation.error else None,
            "skipped": rotation.skipped or None,
            "state": result.state if result else None,
            "canaries": [p.canary["id"] for p in result.canaries] if result else [],
            "rows": sum(len(p.rows) for p in result.canaries) if result else 0,
            "scripts": [str(path) for path in result.scripts] if result else []}


@click.command()
@click.option("--target", "target_name", help="Only this target (default: every target).")
@click.option("--count", type=click.IntRange(min=1, max=10_000), help="Canaries per target (default: planting.rotate_count).")
@json_option
@with_deployment
def rotate(deployment, target_name, count, as_json):
    """Plant fresh canaries in every target: run it from cron or a systemd timer.

    Example: canary rotate --count 2
    """
    failed = False
    rotations = list(planting.rotate(deployment, target_name, count))
    if as_json:
        echo_json([_rotation_dict(rotation) for rotation in rotations])
        if any(rotation.error for rotation in rotations):
            click.get_current_context().exit(1)
        return
    for rotation in rotations:
        if rotation.error:
            failed = True
            click.echo(f"{rotation.target}: FAILED: {rotation.error}", err=True)
        elif rotation.skipped:
            click.echo(f"{rotation.target}: skipped ({rotation.skipped})")
        else:
            result = rotation.result
            rows = sum(len(p.rows) for p in result.canaries)
            ids = ", ".join(str(p.canary["id"]) for p in result.canaries)
            line = f"{rotation.target}: {result.state} {len(result.canaries)} canaries ({rows} rows): {ids}"
            click.echo(line + "".join(f"; script {path}" for path in result.scripts))
            for note in result.notes:
                click.echo(f"  {note}")
    if failed:
        raise UserError("some targets could not be rotated (see above)")


@click.command()
@click.argument("target_name", metavar="TARGET")
@click.option("--script", type=click.Path(dir_okay=False),
              help="Only the canaries of this applied plant script (default: every pending canary).")
@json_option
@with_deployment
def confirm(deployment, target_name, script, as_json):
    """Count a target's pending canaries (applied script, hand entry) as planted from now.

    Example: canary confirm lims-export --script scripts/lims-export-20261128T175445.511026Z-plant-1.postgresql.sql
    """
    ids = planting.confirm(deployment, target_name, script)
    if as_json:
        echo_json({"target": target_name, "confirmed": ids})
        return
    click.echo(f"Confirmed {len(ids)} canaries in {target_name} as planted." if ids
               else f"Nothing pending in {target_name}.")
