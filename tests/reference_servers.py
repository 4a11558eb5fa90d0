"""Debian's Postfix and NSD started privately (own config, queue and port on 127.0.0.1) as references.

The listeners must answer a probe set as these do; tests that need them skip (fail in CI)
when the packages are missing. `.ci/services.sh` installs them and keeps the system
instances stopped.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

from services import service_missing

POSTFIX_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
"""
QUEUE_DIRS = ("pid", "public", "private", "incoming", "active", "deferred", "defer", "bounce", "corrupt",
              "flush", "hold", "maildrop", "saved", "trace")


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 20) -> None:
    """Wait until something accepts on 127.0.0.1:port (readiness, not a fixed sleep)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds}s") from None
            time.sleep(0.05)


def _root_or_skip(command: str) -> None:
    if shutil.which(command) is None and not pathlib.Path(command).exists():
        service_missing(f"{command} is not installed (.ci/services.sh installs it)")
    if os.geteuid() != 0:
        service_missing(f"{command} as a private instance needs root")


def self_signed(directory: pathlib.Path, hostname: str) -> tuple[pathlib.Path, pathlib.Path]:
    """A certificate and key for `hostname`, made by the code `canary init` uses."""
    from canary.tls import write_self_signed
    return write_self_signed(directory / "cert.pem", directory / "key.pem", hostname)


@contextlib.contextmanager
def private_postfix(hostname: str, domains: list[str], recipients: list[str],
                    message_size_limit: int = 10240000, tls: bool = False):
    """Postfix on a free 127.0.0.1 port, as Debian configures it, accepting `recipients` of `domains`.

    Debian's defaults kept: smtpd_relay_restrictions (defer_unauth_destination), message size,
    SMTPUTF8, VRFY on. The client (127.0.0.1) is not in mynetworks, as a stranger is not.
    """
    _root_or_skip("/usr/sbin/postfix")
    # Its own directory under /tmp, not pytest's (mode 0700): Postfix's daemons run as `postfix`.
    directory = pathlib.Path(tempfile.mkdtemp(prefix="canary-postfix-"))
    directory.chmod(0o755)
    conf, queue, data = directory / "conf", directory / "queue", directory / "data"
    for path in (conf, data, *(queue / name for name in QUEUE_DIRS)):
        path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (conf / "recipients").write_text("".join(f"{r} ok\n" for r in recipients))
    tls_lines = "smtpd_tls_security_level = none\n"
    if tls:     # as Debian's snakeoil: a self-signed certificate, STARTTLS offered
        cert, key = self_signed(directory, hostname)
        tls_lines = f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\nsmtpd_tls_security_level = may\n"
    (conf / "main.cf").write_text(f"""\
compatibility_level = 3.6
myhostname = {hostname}
mydomain = {domains[0]}
myorigin = $mydomain
mydestination = {", ".join(domains)}
mynetworks = 192.0.2.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
queue_directory = {queue}
data_directory = {data}
smtpd_banner = $myhostname ESMTP
biff = no
append_dot_mydomain = no
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
local_recipient_maps = texthash:{conf}/recipients
alias_maps =
message_size_limit = {message_size_limit}
disable_vrfy_command = yes
maillog_file = {directory}/maillog
maillog_file_prefixes = {directory}
default_transport = discard
local_transport = discard
{tls_lines}""")
    (conf / "master.cf").write_text(f"127.0.0.1:{port} inet n - n - - smtpd\n" + POSTFIX_SERVICES)
    shutil.copy("/etc/postfix/dynamicmaps.cf", conf / "dynamicmaps.cf")
    for path in (queue, data):
        subprocess.run(["chown", "-R", "postfix", str(path)], check=True)
    for name in ("public", "maildrop"):
        subprocess.run(["chgrp", "postdrop", str(queue / name)], check=True)
    subprocess.run(["chown", "root", str(queue), str(queue / "pid")], check=True)
    started = subprocess.run(["postfix", "-c", str(conf), "start"], capture_output=True, text=True)
    if started.returncode:
        log = (directory / "maillog").read_text() if (directory / "maillog").exists() else ""
        raise RuntimeError(f"postfix did not start: {started.stderr}{log}")
    try:
        wait_for_port(port)
        yield port
    finally:
        subprocess.run(["postfix", "-c", str(conf), "stop"], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def private_nsd(directory: pathlib.Path, zone: str, records: list[str], serial: int, ttl: int = 300):
    """NSD on a free 127.0.0.1 port (UDP and TCP) serving `zone` with `records` (zone-file lines)."""
    _root_or_skip("/usr/sbin/nsd")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (directory / "zone").write_text(
        f"$ORIGIN {zone}.\n$TTL {ttl}\n"
        f"@ IN SOA ns1.{zone}. hostmaster.{zone}. {serial} 3600 600 86400 {ttl}\n" + "\n".join(records) + "\n")
    # Debian's nsd.conf defaults, plus what a private instance needs (no chroot, no user switch).
    (directory / "nsd.conf").write_text(f"""\
server:
    ip-address: 127.0.0.1
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{directory}"
    pidfile: "{directory}/nsd.pid"
    database: ""
    xfrdfile: "{directory}/xfrd.state"
    zonelistfile: "{directory}/zone.list"
    logfile: "{directory}/nsd.log"
    server-count: 1
    hide-version: yes
    hide-identity: yes
    minimal-responses: yes
remote-control:
    control-enable: no
zone:
    name: "{zone}"
    zonefile: "zone"
""")
    process = subprocess.Popen(["nsd", "-d", "-c", str(directory / "nsd.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_for_dns(port, zone, process, directory)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_dns(port: int, zone: str, process, directory, seconds: float = 20) -> None:
    import dns.exception
    import dns.message
    import dns.query
    deadline = time.monotonic() + seconds
    while True:
        try:
            dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port, timeout=0.2)
            return
        except (TimeoutError, OSError, dns.exception.Timeout):
            if process.poll() is not None or time.monotonic() > deadline:
                log = directory / "nsd.log"
                raise RuntimeError(f"nsd did not answer: {log.read_text() if log.exists() else ''}") from None


@contextlib.contextmanager
def private_dovecot(user: str, password: str):
    """Dovecot's IMAP on a free 127.0.0.1 port, one passwd-file user, plain IMAP (loopback only)."""
    _root_or_skip("/usr/sbin/dovecot")
    directory = pathlib.Path(tempfile.mkdtemp(prefix="canary-dovecot-"))
    directory.chmod(0o755)     # the mail processes run as `mail`
    (directory / "state").mkdir()
    (directory / "home").mkdir()
    shutil.chown(directory / "home", "mail", "mail")
    (directory / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    port = free_port()
    (directory / "dovecot.conf").write_text(f"""\
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
mail_location = maildir:{directory}/home/%u/Maildir
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
first_valid_gid = 8
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={directory}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")
    process = subprocess.Popen(["dovecot", "-F", "-c", str(directory / "dovecot.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)
