"""A PostgreSQL cluster of the team server's own, for a team without a database server.

Debian's ``initdb`` and ``pg_ctl`` make and run it. It listens on the loopback address
only and asks for a password (SCRAM), generated here and kept owner-only, so a local
account cannot reach the store behind the tracking server's back. PostgreSQL refuses to
run as root: run as root, the cluster belongs to the ``postgres`` account and lives
under its home (``/var/lib/postgresql``), where that account can reach it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlcycle.core.errors import Unavailable
from mlcycle.core.private import private_dirs, private_file

ROLE = "mlcycle"
TUNING_ROLE = "mlcycle_tune"  # owns the tuning database only: what clients are given
TUNING_DATABASE = "optuna"
PACKAGE_HINT = "install PostgreSQL's server (Debian: apt-get install postgresql), or pass --db"
_TIMEOUT_S = 120


@dataclass(frozen=True)
class Cluster:
    """Where a cluster's files are and how to reach it."""

    data: Path
    password_file: Path
    port: int

    @property
    def log(self) -> Path:
        """PostgreSQL's own log, beside its data (where its account can write)."""
        return self.data.with_name(f"{self.data.name}.log")

    @property
    def tuning_password_file(self) -> Path:
        return self.password_file.with_name("tuning-password")

    def url(self, database: str) -> str:
        password = self.password_file.read_text().strip()
        return f"postgresql://{ROLE}:{password}@127.0.0.1:{self.port}/{database}"

    def tuning_url(self, host: str) -> str:
        """The tuning database's URL for clients reaching this machine as ``host``."""
        password = self.tuning_password_file.read_text().strip()
        return f"postgresql://{TUNING_ROLE}:{password}@{host}:{self.port}/{TUNING_DATABASE}"


def binaries() -> Path:
    """The folder of ``pg_ctl`` and ``initdb``; Unavailable naming the package when absent."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if not candidates:
        raise Unavailable(f"PostgreSQL's pg_ctl was not found; {PACKAGE_HINT}.")
    return Path(candidates[0]).parent


def cluster_for(state: Path, port: int) -> Cluster:
    """The cluster of a server whose state folder is ``state``."""
    data = state / "postgres"
    if os.geteuid() == 0:
        digest = hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:12]
        data = Path("/var/lib/postgresql/mlcycle") / digest
    return Cluster(data, state / "postgres-password", port)


def ensure(cluster: Cluster) -> None:
    """Create the cluster if it does not exist yet (its password with it)."""
    if (cluster.data / "PG_VERSION").exists():
        return
    bindir = binaries()
    if not cluster.password_file.exists():
        private_file(cluster.password_file).write_text(secrets.token_urlsafe(24) + "\n")
    private_dirs(cluster.data)
    pwfile = cluster.data.parent / f".{cluster.data.name}-pw"
    private_file(pwfile).write_text(cluster.password_file.read_text())
    _give_to_server_account(cluster.data.parent, cluster.data, pwfile)
    try:
        _run(
            bindir / "initdb", "-D", str(cluster.data), "-U", ROLE, "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)


def start(cluster: Cluster, listen: str = "127.0.0.1") -> None:
    """Start the cluster on its port and wait until it accepts clients.

    Args:
        cluster: The cluster.
        listen: The addresses to listen on; beyond loopback, only the tuning role may
            connect from elsewhere, to the tuning database (``allow_tuning_clients``).
    """
    listen = "*" if any(every in listen.split(",") for every in ("0.0.0.0", "::")) else listen
    options = f"-p {cluster.port} -k {cluster.data} -c listen_addresses={listen}"
    if not cluster.log.exists():
        cluster.log.touch(mode=0o600)
        _give_to_server_account(cluster.log)
    _run(binaries() / "pg_ctl", "-D", str(cluster.data), "-o", options, "-l", str(cluster.log),
         "-w", "start")  # fmt: skip


def stop(cluster: Cluster) -> None:
    """Stop the cluster (fast shutdown: clients disconnected, nothing lost)."""
    if running(cluster):
        _run(binaries() / "pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop")


def running(cluster: Cluster) -> bool:
    if not (cluster.data / "postmaster.pid").exists():
        return False
    done = subprocess.run(
        _as_server_account([str(binaries() / "pg_ctl"), "-D", str(cluster.data), "status"]),
        capture_output=True,
        timeout=_TIMEOUT_S,
    )
    return done.returncode == 0


def create_database(url: str, name: str) -> None:
    """Create database ``name`` on the server of ``url`` unless it exists."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def add_tuning_role(cluster: Cluster, keep_out: tuple[str, ...]) -> None:
    """The tuning database and its own role (password generated once, owner-only).

    Optuna's workers connect to PostgreSQL directly, so they get a role that owns the
    tuning database and cannot even connect to the databases of ``keep_out``: the
    tracking and user stores stay behind MLflow's server.
    """
    import psycopg

    if not cluster.tuning_password_file.exists():
        private_file(cluster.tuning_password_file).write_text(secrets.token_urlsafe(24) + "\n")
    password = cluster.tuning_password_file.read_text().strip()
    with psycopg.connect(cluster.url("postgres"), autocommit=True, connect_timeout=10) as db:
        found = db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (TUNING_ROLE,))
        verb = "ALTER" if found.fetchone() else "CREATE"
        statement = f"{verb} ROLE {TUNING_ROLE} LOGIN PASSWORD {{}}"
        db.execute(psycopg.sql.SQL(statement).format(psycopg.sql.Literal(password)))
    create_database(cluster.url("postgres"), TUNING_DATABASE)
    with psycopg.connect(cluster.url("postgres"), autocommit=True, connect_timeout=10) as db:
        db.execute(f"ALTER DATABASE {TUNING_DATABASE} OWNER TO {TUNING_ROLE}")
        for name in keep_out:  # PostgreSQL lets every role connect to every database
            db.execute(f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC')
    _allow_tuning_clients(cluster)


def _allow_tuning_clients(cluster: Cluster) -> None:
    """Let the tuning role reach the tuning database from other machines (password only).

    Read when the cluster starts; it listens beyond loopback only when the server does.
    """
    hba = cluster.data / "pg_hba.conf"
    line = f"host {TUNING_DATABASE} {TUNING_ROLE} all scram-sha-256"
    if line not in hba.read_text().splitlines():
        with hba.open("a") as out:  # appending keeps the file its account's
            out.write(line + "\n")
        _run(binaries() / "pg_ctl", "-D", str(cluster.data), "reload")


def _run(*argv: str | Path) -> None:
    command = _as_server_account([str(arg) for arg in argv])
    done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise Unavailable(f"PostgreSQL's {Path(argv[0]).name} failed: {said[-1] if said else ''}")


def _as_server_account(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    if shutil.which("runuser") is None:
        raise Unavailable("Running as root needs runuser to start PostgreSQL as postgres.")
    return ["runuser", "-u", "postgres", "--", *argv]


def _give_to_server_account(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable(f"There is no postgres account; {PACKAGE_HINT}.") from None
    for path in paths:
        os.chown(path, account.pw_uid, account.pw_gid)
