"""The local double as a server: what a hostile or broken client can do to it over the network.

Clients speak to the gateway the way a driver would, or byte by byte (``RawPg``) to send what no driver
sends. Each case ends in a clear refusal (an ErrorResponse with a SQLSTATE, then the connection closed)
and the stack still answers afterwards. What PostgreSQL itself holds (backends, locks) is read through
the gateway's own admin connection.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from reliability_support import RawPg, admin_rows, error_fields, typed_message

from airflow_redshift_s3.local.stack import MASTER_PASSWORD, MASTER_USER

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

HUGE = 200 << 20  # declared, never sent


def _raw(stack, timeout: float = 5.0) -> RawPg:
    return RawPg("127.0.0.1", stack.redshift_port, timeout=timeout)


def _refused_with(messages, code: str) -> dict[str, str]:
    """Assert the last message is an ErrorResponse with ``code``; return its fields."""
    assert messages, "the gateway closed the connection without an error message"
    kind, body = messages[-1]
    assert kind == b"E", f"expected an ErrorResponse, got {messages!r}"
    fields = error_fields(body)
    assert fields.get("C") == code, fields
    return fields


def _closed(raw: RawPg) -> None:
    assert raw.read() is None, "the gateway kept the connection open after a fatal error"
    raw.close()


def _answers(stack) -> None:
    raw = _raw(stack)
    assert raw.login(MASTER_USER, MASTER_PASSWORD)[-1][0] == b"Z"
    rows = [body for kind, body in raw.query("select 42") if kind == b"D"]
    assert rows and rows[0].endswith(b"42")
    raw.close()


# -- who may log in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["postgres", "POSTGRES", "rdsdb", "rdsadmin", "pg_monitor"])
def test_administrative_names_are_refused_before_postgresql(local_redshift, user):
    raw = _raw(local_redshift)
    raw.startup(user)
    first = raw.read()
    # PostgreSQL would first ask for a password (or, for a trusted name, log the client in): an error as
    # the very first answer shows the gateway refused the name itself.
    fields = _refused_with([first] if first else [], "28000")
    assert fields["M"] == f'password authentication failed for user "{user}"'
    _closed(raw)


@pytest.mark.parametrize("user", [MASTER_USER, "IAM:alice"])
def test_wrong_passwords_are_refused(local_redshift, user):
    raw = _raw(local_redshift)
    fields = _refused_with(raw.login(user, "not-the-password"), "28P01")
    assert "password authentication failed" in fields["M"]
    _closed(raw)


def test_a_driver_gets_the_wrong_password_error_every_time(local_redshift):
    import redshift_connector

    # redshift_connector sends a Flush right after its password; PostgreSQL may have closed by then, and
    # the error it sent must still reach the driver (a race: one try in twenty lost it once)
    kwargs = dict(local_redshift.connect_kwargs(), password="not-the-password")
    for _ in range(60):
        with pytest.raises(redshift_connector.error.ProgrammingError, match="password authentication failed"):
            redshift_connector.connect(**kwargs)


def test_postgresql_cannot_be_reached_around_the_gateway(local_redshift):
    postgres = local_redshift.postgres
    # no TCP listener: a forged IAM name (or the superuser's) cannot skip the gateway's password check
    for user in ("IAM:alice", "postgres"):
        try:
            raw = RawPg("127.0.0.1", postgres.port, timeout=5)
        except ConnectionRefusedError:
            continue
        messages = raw.login(user, "")
        raw.close()
        assert messages[-1][0] == b"E", f"PostgreSQL let {user} in without a password over TCP"
    # the Unix socket is in a directory only the stack's accounts can enter; and even the account that
    # runs PostgreSQL may not use it to become the superuser or an IAM user
    assert postgres.host.startswith("/"), postgres.host
    assert (os.stat(postgres.host).st_mode & 0o077) == 0, oct(os.stat(postgres.host).st_mode)
    if os.geteuid() != 0:
        return
    import pwd

    other = pwd.getpwnam("nobody")  # the account PostgreSQL runs as: it may enter the socket's directory
    socket_path = f"{postgres.host}/.s.PGSQL.{postgres.port}"
    for user in ("IAM:alice", "postgres"):
        answer = _first_answer_as(other.pw_uid, other.pw_gid, socket_path, user)
        assert answer in ("E", "unreachable"), f"{user} over the Unix socket as nobody: {answer}"


def _first_answer_as(uid: int, gid: int, socket_path: str, user: str) -> str:
    """Send a startup packet for ``user`` from a child process running as ``uid``; return the answer type."""
    import socket

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        answer = "unreachable"
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(5)
                sock.connect(socket_path)
                body = b"user\0" + user.encode() + b"\0database\0dev\0\0"
                sock.sendall(struct.pack("!ii", len(body) + 8, 196608) + body)
                answer = sock.recv(1).decode() or "closed"
        except OSError:
            pass
        finally:
            os.write(write_end, answer.encode())
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        return pipe.read()


# -- what a login user may do -----------------------------------------------------------------------

SERVER_ESCAPES = {
    "copy-to-program": "COPY (SELECT 1) TO PROGRAM 'id'",
    "copy-from-program": "COPY os_probe FROM PROGRAM 'id'",
    "copy-from-server-file": "COPY os_probe FROM '/etc/passwd'",
    "pg_read_file": "SELECT pg_read_file('/etc/passwd')",
    "lo_import": "SELECT lo_import('/etc/passwd')",
    "untrusted-extension": "CREATE EXTENSION file_fdw",
    "trusted-extension": "CREATE EXTENSION hstore",
    "superuser-role": "CREATE ROLE os_probe_role SUPERUSER",
    "become-superuser": "ALTER ROLE CURRENT_USER SUPERUSER",
}


@pytest.fixture(scope="module")
def iam_login(local_redshift):
    """The keyword arguments of a temporary-credentials login (an auto-created ``IAM:`` user)."""
    creds = local_redshift.aws_client("redshift").get_cluster_credentials(
        ClusterIdentifier="local-cluster",
        DbUser=f"probe{uuid.uuid4().hex[:8]}",
        DbName="dev",
        AutoCreate=True,
    )
    return {"user": creds["DbUser"], "password": creds["DbPassword"]}


@pytest.mark.parametrize("login", ["master", "iam"])
@pytest.mark.parametrize("statement", list(SERVER_ESCAPES.values()), ids=list(SERVER_ESCAPES))
def test_login_users_cannot_reach_the_server_os(local_redshift, iam_login, login, statement):
    import redshift_connector

    kwargs = local_redshift.connect_kwargs()
    if login == "iam":
        kwargs.update(iam_login)
    conn = redshift_connector.connect(**kwargs)
    try:
        cursor = conn.cursor()
        cursor.execute("select rolsuper from pg_roles where rolname = current_user")
        assert cursor.fetchall()[0][0] is False, f"{kwargs['user']} is a PostgreSQL superuser"
        cursor.execute("create temp table os_probe (line text)")
        with pytest.raises(redshift_connector.error.ProgrammingError) as raised:
            cursor.execute(statement)
        assert raised.value.args[0]["C"] == "42501", raised.value.args[0]  # insufficient_privilege
    finally:
        conn.close()


# -- malformed and oversized messages ---------------------------------------------------------------


def _startup_bytes(body: bytes) -> bytes:
    return struct.pack("!ii", len(body) + 8, 196608) + body


BEFORE_LOGIN = {
    "startup-too-large": struct.pack("!ii", HUGE, 196608),
    "startup-too-short": struct.pack("!i", 4),
    "startup-not-utf8": _startup_bytes(b"user\x00\xff\xfe\x00database\x00dev\x00\x00"),
    "startup-no-terminator": _startup_bytes(b"user\x00awsuser\x00database"),
}


@pytest.mark.parametrize("data", list(BEFORE_LOGIN.values()), ids=list(BEFORE_LOGIN))
def test_malformed_or_oversized_startup_is_refused(local_redshift, data):
    raw = _raw(local_redshift)
    raw.send(data)
    _refused_with([m for m in [raw.read()] if m], "08P01")
    _closed(raw)
    _answers(local_redshift)


@pytest.mark.parametrize("user", [MASTER_USER, "IAM:alice"])
def test_oversized_password_message_is_refused_without_reading_it(local_redshift, user):
    raw = _raw(local_redshift)
    raw.startup(user)
    kind, _ = raw.read()
    assert kind == b"R"  # asked for a password
    raw.send(b"p" + struct.pack("!i", HUGE))  # the body never comes: the answer must not wait for it
    fields = _refused_with([m for m in [raw.read()] if m], "08P01")
    assert "before login" in fields["M"], fields
    _closed(raw)


AFTER_LOGIN = {
    "too-large": b"Q" + struct.pack("!i", HUGE + (1 << 30)),
    "negative-length": b"Q" + struct.pack("!i", -1),
    "length-below-header": b"Q" + struct.pack("!i", 3),
    "parse-without-terminator": typed_message(b"P", b"stmt"),
    "bind-truncated": typed_message(b"B", b"\x00\x00\x00"),
}


@pytest.mark.parametrize("data", list(AFTER_LOGIN.values()), ids=list(AFTER_LOGIN))
def test_malformed_or_oversized_message_after_login_is_refused(local_redshift, data):
    raw = _raw(local_redshift)
    assert raw.login(MASTER_USER, MASTER_PASSWORD)[-1][0] == b"Z"
    raw.send(data)
    _refused_with([m for m in [raw.read()] if m], "08P01")
    _closed(raw)
    _answers(local_redshift)


def test_message_limit_after_login_is_the_documented_one(local_redshift):
    from pathlib import Path

    from airflow_redshift_s3.local.wire.messages import MAX_CLIENT_MESSAGE as MAX_MESSAGE
    from airflow_redshift_s3.local.wire.messages import MAX_CLIENT_MESSAGE_BEFORE_LOGIN

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert f"at most {MAX_CLIENT_MESSAGE_BEFORE_LOGIN >> 10} KiB before login" in readme
    assert f"{MAX_MESSAGE >> 20} MiB after" in readme
    raw = _raw(local_redshift)
    assert raw.login(MASTER_USER, MASTER_PASSWORD)[-1][0] == b"Z"
    raw.send(b"Q" + struct.pack("!i", MAX_MESSAGE + 1))  # one byte over: refused before any body
    fields = _refused_with([m for m in [raw.read()] if m], "08P01")
    assert f"{MAX_MESSAGE}" in fields["M"], fields
    _closed(raw)


# -- many clients, and clients that vanish ----------------------------------------------------------


def test_200_concurrent_connections_are_served_or_refused_cleanly(local_redshift):
    clients = 200
    barrier = threading.Barrier(clients, timeout=60)
    app = f"crowd{uuid.uuid4().hex[:8]}"

    def client(_: int) -> str:
        try:
            raw = RawPg("127.0.0.1", local_redshift.redshift_port, timeout=60)
            messages = raw.login(MASTER_USER, MASTER_PASSWORD, application_name=app)
            if messages and messages[-1][0] == b"Z":
                outcome = "served" if any(k == b"D" for k, _ in raw.query("select 1")) else "no-rows"
            elif messages:
                outcome = f"refused {error_fields(messages[-1][1]).get('C')}"
            else:
                outcome = "closed without a message"
        except OSError as err:
            outcome = f"socket error {err}"
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # every client holds its connection until all have their answer
        raw.close()
        return outcome

    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(client, range(clients)))
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    assert set(counts) <= {"served", "refused 53300"}, counts  # 53300: too many connections
    assert counts.get("served", 0) >= clients // 2, counts
    _answers(local_redshift)
    deadline = time.monotonic() + 10
    while admin_rows(local_redshift, f"select 1 from pg_stat_activity where application_name = '{app}'"):
        assert time.monotonic() < deadline, "backends of closed clients are still there"
        time.sleep(0.1)


def _backend_of(stack, app: str) -> list[list[str | None]]:
    return admin_rows(
        stack,
        "select a.pid, a.wait_event_type, count(l.pid) from pg_stat_activity a "
        f"left join pg_locks l on l.pid = a.pid where a.application_name = '{app}' "
        "group by a.pid, a.wait_event_type",
    )


@pytest.mark.parametrize("source", ["s3", "stdin"])
def test_client_gone_mid_copy_leaves_no_backend_and_no_lock(
    local_redshift, db, s3_bucket, copy_role_arn, source
):
    import redshift_connector

    table = f"{db.schema}.target"
    db.run(f"create table {table} (id int, name varchar(20))")
    local_redshift.aws_client("s3").put_object(Bucket=s3_bucket, Key="in/a.csv", Body=b"1,a\n2,b\n")
    holder = redshift_connector.connect(**local_redshift.connect_kwargs())
    app = f"midcopy{uuid.uuid4().hex[:8]}"
    try:
        holder.cursor().execute(f"lock table {table}")  # the client's COPY waits for this lock
        raw = _raw(local_redshift)
        assert raw.login(MASTER_USER, MASTER_PASSWORD, application_name=app)[-1][0] == b"Z"
        if source == "s3":
            raw.send(
                typed_message(
                    b"Q",
                    f"copy {table} from 's3://{s3_bucket}/in/' iam_role '{copy_role_arn}' csv\0".encode(),
                )
            )
        else:
            raw.send(typed_message(b"Q", f"copy {table} from stdin csv\0".encode()))
        deadline = time.monotonic() + 15
        while not any(row[1] == "Lock" for row in _backend_of(local_redshift, app)):
            assert time.monotonic() < deadline, (
                f"the COPY never waited for the lock: {_backend_of(local_redshift, app)}"
            )
            time.sleep(0.05)
        raw.abort()
        deadline = time.monotonic() + 5
        while left := _backend_of(local_redshift, app):
            assert time.monotonic() < deadline, f"the vanished client's backend and locks remain: {left}"
            time.sleep(0.05)
    finally:
        holder.rollback()
        holder.close()
    assert db.run(f"select count(*) from {table}") == [(0,)]
