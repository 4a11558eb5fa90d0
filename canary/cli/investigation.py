"""Commands for investigators: verify the evidence log, write reports (scanning: scanning.py)."""
from __future__ import annotations

import json
import pathlib

import click

from ..evidence.checkpoints import CheckpointError, take_checkpoint, write_checkpoint
from ..deployment import Deployment
from ..evidence.chain import parse_anchor
from ..evidence.report import FORMATS, build_report, render, report_signer
from ..evidence.signing import ReportCheckError, check_report
from ..signing_keys import SigningKeyError, fingerprint, load_public_key, public_pem
from ..timestamping import TimestampError
from ..evidence.verification import verify_store
from .common import UserError, echo_json, home_option, json_option, with_deployment


@click.group()
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


@evidence.command("public-key")
@with_deployment
def evidence_public_key(deployment):
    """Print the deployment's Ed25519 public key (PEM) and its fingerprint: publish them, so that anyone
    can check reports and checkpoints without the deployment.

    Example: canary evidence public-key > canary-public.pem
    """
    public = deployment.signing_key().public_key()
    click.echo(public_pem(public), nl=False)
    click.echo(f"fingerprint (sha256 of the DER key): {fingerprint(public)}", err=True)


@evidence.command("anchor")
@click.option("--output", "folder", type=click.Path(file_okay=False),
              help="Also write the checkpoint (statement, .sig, .tsr, .json) in this folder, to ship elsewhere.")
@click.option("--no-timestamp", is_flag=True, help="Sign without asking the timestamping authority.")
@json_option
@with_deployment
def evidence_anchor(deployment, folder, no_timestamp, as_json):
    """Checkpoint the evidence log's head: sign it, timestamp it (RFC 3161), record it. Run it from a timer.

    Example: canary evidence anchor --output /srv/canary/checkpoints
    """
    try:
        checkpoint = take_checkpoint(deployment, timestamp=not no_timestamp)
    except (CheckpointError, TimestampError) as error:
        raise UserError(str(error)) from None
    paths = write_checkpoint(checkpoint, folder) if folder else {}
    if as_json:
        echo_json(checkpoint)
        return
    statement = json.loads(checkpoint["statement"])
    stamp = checkpoint["timestamp"]
    click.echo(f"checkpoint of the evidence log at {statement['seq']}:{statement['hash']}")
    click.echo(f"  signed by Ed25519 key {statement['key']}")
    click.echo(f"  timestamped {stamp['time']} by {stamp['tsa']}" if stamp else
               "  not timestamped (no timestamping authority configured, or --no-timestamp)")
    click.echo(f"  recorded as evidence event {checkpoint['evidence_seq']}")
    for path in paths.values():
        click.echo(f"  wrote {path}")


@click.command()
@click.option("--site", help="Report on one site.")
@click.option("--target", help="Report on one target.")
@click.option("--canary", "canary_id", type=int, help="Report on one canary (its id).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option("--no-timestamp", is_flag=True,
              help="Sign without asking the timestamping authority (when it cannot be reached).")
@click.option("--check", "check_file", type=click.Path(dir_okay=False, exists=True),
              help="Verify the signature of a report written earlier, instead of writing one.")
@click.option("--public-key", metavar="KEY",
              help="With --check: the deployment's public key (PEM file, as `canary evidence public-key` prints "
                   "it); no deployment needed.")
@click.option("--tsa-ca", type=click.Path(dir_okay=False, exists=True),
              help="With --check: the timestamping authority's CA certificate, to check the timestamp's signature.")
@home_option
def report(home, site, target, canary_id, fmt, output, no_timestamp, check_file, public_key, tsa_ca):
    """Write a signed, timestamped investigation report (plantings, contacts, sightings, date window, chain check).

    Example: canary report --target lims-prod --format html --output report.html
    """
    if check_file:
        _check_report_file(home, check_file, public_key, tsa_ca)
        return
    if public_key or tsa_ca:
        raise UserError("--public-key and --tsa-ca go with --check FILE")
    if sum(x is not None for x in (site, target, canary_id)) > 1:
        raise UserError("give at most one of --site, --target, --canary")
    deployment = Deployment.open(home)
    try:
        built = build_report(deployment, site=site, target=target, canary_id=canary_id)
        try:
            text = render(built, fmt, report_signer(deployment, timestamp=not no_timestamp))
        except TimestampError as error:
            raise UserError(str(error)) from None
    finally:
        deployment.close()
    if output:
        pathlib.Path(output).write_text(text, "utf-8")
        click.echo(f"Wrote {output} ({fmt}, signed{'' if no_timestamp or not built['verification']['timestamping_authority'] else ', timestamped'})")
    else:
        click.echo(text, nl=False)


def _check_report_file(home, check_file: str, public_key: str | None, tsa_ca: str | None) -> None:
    """--check: with --public-key alone anywhere; otherwise with the deployment's key (and secret, for v1)."""
    try:
        text = pathlib.Path(check_file).read_text("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{check_file}: {error}") from None
    try:
        if public_key:
            result = check_report(text, public_key=load_public_key(public_key), tsa_ca=tsa_ca)
        else:
            deployment = Deployment.open(home)
            try:
                result = check_report(text, public_key=deployment.signing_key().public_key(),
                                      secret=deployment.settings.secret,
                                      tsa_ca=tsa_ca or deployment.settings["timestamping"]["ca_file"] or None)
            finally:
                deployment.close()
    except (ReportCheckError, SigningKeyError) as error:
        raise UserError(f"{check_file}: {error}") from None
    click.echo(result.summary(check_file))
