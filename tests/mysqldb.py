"""MariaDB for the mysql planter's tests: root over the local socket (Debian's unix_socket login)."""
from __future__ import annotations

import os
import uuid

import pytest
from services import service_missing

DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"


def mariadb_location(database: str) -> str:
    socket = os.environ.get("CANARY_TEST_MYSQL_SOCKET", DEFAULT_SOCKET)
    return f"mysql://root@localhost/{database}?unix_socket={socket}"


def admin_connection():
    import pymysql
    return pymysql.connect(unix_socket=os.environ.get("CANARY_TEST_MYSQL_SOCKET", DEFAULT_SOCKET), user="root",
                           autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def mariadb_server():
    """Skips (fails when CI=true) if no MariaDB answers on the local socket."""
    pymysql = pytest.importorskip("pymysql")
    try:
        admin_connection().close()
    except pymysql.Error as error:
        service_missing(f"no MariaDB on the local socket ({error}); .ci/services.sh starts one")
    return True


@pytest.fixture
def mariadb_db(mariadb_server):
    """A fresh, empty database of its own; dropped afterwards. Yields its mysql:// location."""
    name = f"canary_test_{uuid.uuid4().hex[:12]}"
    with admin_connection() as admin:
        admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield mariadb_location(name)
    finally:
        with admin_connection() as admin:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
