"""Commands that set up a deployment and issue identifiers: init, site, target, generate, issue, list."""
from __future__ import annotations

import csv
import secrets
import sys

import click

from .. import accounts, signing_keys
from ..summaries import listing
from ..deployment import MAIL_MODES, init_deployment
from ..generation.issuing import TOKEN_KINDS, Issuer
from ..store.dialect import redact
from .common import echo_json, echo_rows, echo_table, json_option, with_deployment


@click.command()
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="Directory to create the deployment in (default: $CANARY_HOME, then the current directory).")
@click.option("--zone", "zones", multiple=True, required=True,
              help="DNS zone delegated to this deployment's DNS listener (repeatable).")
@click.option("--mail-domain", "mail_domains", multiple=True,
              help="Mail domain for canary addresses (repeatable; default: the first zone).")
@click.option("--mail-mode", type=click.Choice(MAIL_MODES), default="per-canary", show_default=True,
              help="per-canary: each address's domain carries the canary's own DNS label; shared: one domain; "
                   "pool: the --mail-domain list, each domain shared by several canaries; "
                   "mailboxes: the operator's mailboxes at ordinary providers ([mailboxes] in canary.toml).")
@click.option("--phone-pool", type=click.Path(dir_okay=False),
              help="File of phone numbers you own, one per line (default: ranges reserved for fiction).")
@click.option("--name", help="Name of the deployment (default: the directory name).")
@click.option("--store", "store_url", metavar="URL",
              help="postgresql://HOST/DB for listeners on several hosts (an empty database; the password in "
                   "~/.pgpass). Default: canary.db beside canary.toml.")
@click.option("--admin-password", envvar="CANARY_ADMIN_PASSWORD",
              help="Password of the dashboard user 'admin' (default: generated and printed once).")
def init(home, zones, mail_domains, mail_mode, phone_pool, name, store_url, admin_password):
    """Create a deployment: canary.toml with fresh secrets, and the store.

    Example: canary init --home /srv/canary --zone canary.example.org
    """
    import os
    home = home or os.environ.get("CANARY_HOME") or os.getcwd()
    if admin_password is not None and len(admin_password) < accounts.MIN_PASSWORD_LENGTH:
        raise ValueError(f"--admin-password too short: at least {accounts.MIN_PASSWORD_LENGTH} characters")
    deployment = init_deployment(home, list(zones), list(mail_domains), phone_pool, mail_mode, name, store_url)
    generated = admin_password is None
    admin_password = accounts.new_password() if generated else admin_password
    accounts.set_password(deployment.store, accounts.ADMIN, admin_password)
    click.echo(f"Created deployment in {deployment.settings.home}")
    click.echo(f"  zones: {', '.join(deployment.settings.zones)}")
    click.echo(f"  mail domains: {', '.join(deployment.settings.mail_domains)} ({mail_mode})")
    click.echo(f"  phones: {phone_pool or 'ranges reserved for fiction (ARCEP)'}")
    click.echo(f"  store: {deployment.store.describe()}")
    click.echo(f"  STARTTLS: {deployment.settings['smtp']['tls_cert']} (self-signed for "
               f"{deployment.settings.smtp_hostname}; replace it with your own if you have one)")
    if generated:
        click.echo(f"  dashboard login: {accounts.ADMIN} / {admin_password}  (shown once; change it with "
                   f"`canary user add {accounts.ADMIN}`)")
    else:
        click.echo(f"  dashboard login: {accounts.ADMIN} (password as given)")
    public = deployment.signing_key().public_key()
    click.echo(f"  signing key: Ed25519, fingerprint {signing_keys.fingerprint(public)} (publish it: "
               "`canary evidence public-key`)")
    click.echo("Keep canary.toml secret: it holds the signing key.")
    deployment.close()


@click.group()
def store():
    """The deployment's store: SQLite beside canary.toml, or PostgreSQL for several listener hosts."""


@store.command("migrate")
@click.option("--to", "url", required=True, metavar="URL",
              help="postgresql://HOST/DB: an empty database (the password in ~/.pgpass).")
@click.option("--force", is_flag=True, help="Move even though a listener host still looks alive.")
@with_deployment
def store_migrate(deployment, url, force):
    """Move the store (evidence log included) to PostgreSQL, verify the copy, and use it from now on.

    Example: canary store migrate --to postgresql://db.example.org/canary
    """
    from ..deployment import move_store
    counts = move_store(deployment, url, force)
    click.echo(f"Copied {sum(counts.values())} rows ({counts.get('evidence', 0)} evidence events, "
               f"{counts.get('contacts', 0)} contacts) to {redact(url)}; the evidence chain verifies.")
    click.echo(f"canary.toml now uses it ([store] url); {deployment.settings.store_path} is no longer written.")


@click.group()
def site():
    """Sites: the organisations (laboratories) whose databases hold canaries."""


@site.command("add")
@click.argument("name")
@with_deployment
def site_add(deployment, name):
    """Add a site.

    Example: canary site add "Labo Rennes Nord"
    """
    row = deployment.store.add_site(name)
    click.echo(f"Added site {row['name']} (id {row['id']})")


@site.command("list")
@json_option
@with_deployment
def site_list(deployment, as_json):
    """List sites.

    Example: canary site list --json
    """
    echo_rows(deployment.store.sites(), as_json, ["id", "name", "targets", "created_at"],
              empty="(no sites: canary site add NAME)")


@click.group()
def target():
    """Targets: one copy of one database at a site (production, backup, export)."""


@target.command("add")
@click.argument("name")
@click.option("--site", "site_name", required=True, help="Site the target belongs to.")
@click.option("--kind", default="manual", show_default=True,
              help="How canaries are planted: sqlite, postgresql, mysql, sql, csv, or manual.")
@click.option("--location", help="DSN or path of the database / extract.")
@click.option("--mapping", type=click.Path(dir_okay=False), help="Mapping file (TOML) from canary to rows.")
@click.option("--region", help="Region or department of the target's patients, for realistic addresses.")
@click.option("--schema", help="Where the lab's tables live: PostgreSQL schema (search_path), MySQL database.")
@with_deployment
def target_add(deployment, name, site_name, kind, location, mapping, region, schema):
    """Add a target to a site.

    Example: canary target add lims-prod --site "Labo Rennes Nord" --kind sqlite --location lab.db --mapping lab_mapping.toml
    """
    from ..planting.registration import add_target
    row = add_target(deployment, name, site_name, kind=kind, location=location, mapping=mapping, region=region,
                     schema=schema)
    click.echo(f"Added target {row['name']} ({row['kind']}) to site {row['site']} (id {row['id']})")
    for note in row["notes"]:
        click.echo(f"  {note}")


@target.command("set")
@click.argument("name")
@click.option("--location", help="New DSN or path (a copy of the same database: its canaries' rows are there).")
@click.option("--mapping", type=click.Path(dir_okay=False), help="New mapping file.")
@click.option("--region", help="New region or department ('' for none).")
@click.option("--schema", help="PostgreSQL schema (search_path) or MySQL database the tables live in.")
@with_deployment
def target_set(deployment, name, location, mapping, region, schema):
    """Change a target's location, mapping, region or schema (checked as `target add` does; logged).

    Example: canary target set lims-pg --schema lims
    """
    from ..planting.registration import set_target
    row = set_target(deployment, name, location=location, mapping=mapping, region=region, schema=schema)
    click.echo(f"Target {name}: " + (f"changed {', '.join(row['changed'])}" if row["changed"] else "nothing changed"))
    for note in row["notes"]:
        click.echo(f"  {note}")


@target.command("remove")
@click.argument("name")
@click.option("--retire", "retire_canaries", is_flag=True,
              help="Delete its canaries' rows from the target first (else a target holding canaries is refused).")
@with_deployment
def target_remove(deployment, name, retire_canaries):
    """Stop planting into a target; its canaries stay registered, so a copy taken before still attributes.

    Example: canary target remove lims-old --retire
    """
    from ..planting.registration import remove_target
    row = remove_target(deployment, name, retire_canaries=retire_canaries)
    click.echo(f"Removed target {name}: {row['canaries']} canaries stay registered for attribution"
               + (f", {row['retired']} retired from it now" if row["retired"] else ""))
    for path in row["scripts"]:
        click.echo(f"  apply {path}")


@target.command("list")
@json_option
@with_deployment
def target_list(deployment, as_json):
    """List targets with their site and canary count.

    Example: canary target list
    """
    echo_rows(deployment.store.targets(), as_json, ["id", "site", "name", "kind", "canaries", "location"],
              empty="(no targets: canary target add NAME --site SITE)")


@click.command()
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", type=int, help="Same seed, same patients (default: random).")
@click.option("--region", help="Region or department for addresses, e.g. Bretagne or 35.")
@click.option("--format", "output_format", type=click.Choice(["json", "csv"]), default="json", show_default=True)
def generate(count, seed, region, output_format):
    """Print fake French patients without registering them.

    Example: canary generate --count 3 --seed 42 --format csv
    """
    from ..generation.patients import generate_patients
    seed = secrets.randbits(32) if seed is None else seed
    patients = generate_patients(count, seed, region=region)
    if output_format == "json":
        echo_json(patients)
        return
    rows = [listing.flatten(patient) for patient in patients]
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@click.command()
@click.argument("kind", type=click.Choice(TOKEN_KINDS))
@click.option("--note", help="What the token is for, where it is placed.")
@json_option
@with_deployment
def issue(deployment, kind, note, as_json):
    """Issue a standalone token (not tied to a patient).

    Example: canary issue dns --note "fake backup server in the runbook"
    """
    token = Issuer(deployment.store, deployment.settings).issue_token(kind, note)
    if as_json:
        echo_json({"kind": token["kind"], "token": token["token"], "value": token["value"],
                   "note": token["note"], "created_at": token["created_at"]})
    else:
        click.echo(f"{token['kind']} token {token['token']}: {token['value']}")


@click.command("list")
@json_option
@click.option("--target", "target_name", help="Only canaries of this target.")
@with_deployment
def list_command(deployment, as_json, target_name):
    """List canaries (with their state: planted, missing, retired, registered) and standalone tokens.

    Example: canary list --json
    """
    canaries = listing.canary_summaries(deployment.store, target_name)
    tokens = [] if target_name else listing.token_summaries(deployment.store)
    if as_json:
        echo_json(canaries + tokens)
        return
    echo_table(canaries, ["id", "site", "target", "state", "planted_at", "name", "birth_date", "email", "phone"],
               empty="(no canaries)")
    if tokens:
        click.echo("")
        echo_table(tokens, ["token", "kind", "value", "note", "created_at"])
