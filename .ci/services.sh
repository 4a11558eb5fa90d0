#!/usr/bin/env bash
# Services the test suite needs that a fresh machine lacks (PostgreSQL, Chromium, the sqlite3
# CLI). `make test` runs this when it runs as root; tests that need a missing service fail
# when CI=true and skip otherwise.
# Idempotent: on a machine that already has them this takes well under a second.
set -euo pipefail

apt_updated=""
apt_install() {
    # Install Debian packages only when their command is missing.
    if [ -z "$apt_updated" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# sqlite3 CLI: the planting tests apply the generated SQL script with it.
command -v sqlite3 >/dev/null || apt_install sqlite3
# bench/bench_scan.py measures canary scan against ripgrep (Debian's package) and GNU grep.
command -v rg >/dev/null || apt_install ripgrep

# openssl CLI: the evidence tests run a real RFC 3161 TSA (`openssl ts -reply`) and verify
# reports and tokens with `openssl pkeyutl` / `openssl ts -verify`, as a third party would.
command -v openssl >/dev/null || apt_install openssl

# PostgreSQL (Debian's): the postgresql planter is tested against a real server.
command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1 || apt_install postgresql
version=$(ls /etc/postgresql | sort -V | tail -n 1)
# Tests connect over the local socket as the database user postgres while running as
# root: map root (and postgres) to postgres for peer authentication.
ident=/etc/postgresql/$version/main/pg_ident.conf
hba=/etc/postgresql/$version/main/pg_hba.conf
changed=""
if ! grep -q '^canary ' "$ident"; then
    printf 'canary root postgres\ncanary postgres postgres\n' >>"$ident"
    changed=1
fi
if ! grep -q 'map=canary' "$hba"; then
    sed -i 's/^\(local[[:space:]]\+all[[:space:]]\+postgres[[:space:]]\+peer\)[[:space:]]*$/\1 map=canary/' "$hba"
    changed=1
fi
if pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
    [ -z "$changed" ] || pg_ctlcluster "$version" main reload
else
    pg_ctlcluster "$version" main start
fi

# MariaDB (Debian's): the mysql planter is tested against a real server. Root logs in over the
# local socket (unix_socket authentication, Debian's default for root@localhost), as the tests do.
command -v mariadbd >/dev/null || apt_install mariadb-server
if ! mariadb-admin --protocol=socket ping >/dev/null 2>&1; then
    service mariadb start >/dev/null
fi

# Headless Chromium for the dashboard's browser tests (driven by Playwright's Python
# package with executable_path; never `playwright install`, which downloads a browser).
if ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
fi

# Postfix and NSD (references the SMTP and DNS listeners are compared with) and Dovecot (a
# real IMAP server for the mailbox watcher): the tests start private instances of each on
# free 127.0.0.1 ports. The system instances must never listen: installed with services
# kept from starting (policy-rc.d), then stopped and disabled in case they already ran.
if ! command -v postfix >/dev/null || ! command -v nsd >/dev/null || ! command -v doveadm >/dev/null; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    policy=/usr/sbin/policy-rc.d
    had_policy=""; [ -e "$policy" ] && had_policy=1
    [ -n "$had_policy" ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; }
    apt_install postfix nsd dovecot-imapd
    [ -n "$had_policy" ] || rm -f "$policy"
fi
for service in postfix nsd dovecot; do
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        systemctl disable --now "$service" >/dev/null 2>&1 || true
    else
        service "$service" stop >/dev/null 2>&1 || true
        update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
done
