#!/usr/bin/env python3
"""Starts Eclosion v1.3.10 on databases, through both of its start-up paths, and reads the
credentials back with its own code: how the README's claims about which `eclosion.db`
Eclosion starts on were checked.

This script holds no Eclosion code: it drives an Eclosion v1.3.10 checkout (commit 6de2a48,
https://github.com/312-dev/eclosion) that the caller provides, and must be run with a Python
that has Eclosion's requirements installed (see `make_eclosion_short_mfa_db.py`):

    /tmp/eclosion-venv/bin/python check_eclosion_startup.py --eclosion ECLOSION DB... \
        < passphrase.txt

For each database and each start-up path, a copy of the database (with its `-wal`, if any)
becomes `eclosion.db` in a fresh state directory (`STATE_DIR`), and Eclosion's real start-up
runs: `import api`, which calls `init_db()` and starts its services.

- `inline`: the checkout laid out as Eclosion's Docker image holds it (no `config/`), which
  is also what its desktop app runs: `init_db()` finds no `config/alembic.ini` and runs its
  inline migrations, then `create_all()`;
- `alembic`: the checkout as it is (a development install): `init_db()` runs
  `alembic upgrade head`.

After a successful start, Eclosion's `CredentialsManager.load()`, `verify_passphrase()` and
`get_notes_key()` read the credentials with the passphrase read from standard input. It prints
one JSON object per database and path: whether Eclosion started, the last line of its error if
not, and what it read. The exit status is 0 whatever Eclosion did.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ECLOSION_COMMIT = "6de2a48837b69b97361d39096c53248fc1d53961"  # tag v1.3.10
DOCKER_LAYOUT = ["blueprints", "core", "services", "state"]


def docker_layout(checkout: Path, into: Path) -> None:
    """Copies the checkout's files as Eclosion's Docker image holds them (no `config/`)."""
    for path in checkout.glob("*.py"):
        shutil.copy2(path, into / path.name)
    for name in DOCKER_LAYOUT:
        shutil.copytree(
            checkout / name,
            into / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.db", "*.db-wal", "*.db-shm"),
        )


def run_in_eclosion(passphrase: str) -> None:
    """Runs inside an Eclosion tree (cwd), with STATE_DIR set: Eclosion's own code only."""
    sys.path.insert(0, os.getcwd())
    result: dict = {"started": False}
    try:
        import api  # noqa: F401  (Eclosion's start-up: init_db() and its services)

        result["started"] = True
        from state.state_manager import CredentialsManager

        manager = CredentialsManager()
        loaded = manager.load(passphrase)
        result["load"] = loaded
        result["verify_passphrase"] = manager.verify_passphrase(passphrase)
        result["wrong_passphrase_refused"] = not manager.verify_passphrase(passphrase + "x")
        result["notes_key"] = manager.get_notes_key(passphrase)
    except BaseException as e:  # noqa: BLE001  (reported, whatever it is)
        result["error"] = f"{type(e).__name__}: {e}".splitlines()[0]
    sys.stdout.write("\n" + json.dumps(result))


def check(checkout: Path, database: Path, path: str, passphrase: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="eclosion-startup-") as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        shutil.copyfile(database, state / "eclosion.db")
        wal = Path(f"{database}-wal")
        if wal.is_file():
            shutil.copyfile(wal, state / "eclosion.db-wal")
        if path == "inline":
            tree = Path(tmp) / "app"
            tree.mkdir()
            docker_layout(checkout, tree)
        else:
            tree = checkout
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--inside", "--eclosion", str(checkout)],
            cwd=tree,
            env=dict(os.environ, STATE_DIR=str(state)),
            input=passphrase,
            capture_output=True,
            text=True,
        )
        lines = out.stdout.strip().splitlines()
        try:
            result = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            result = {"started": False, "error": (out.stderr.strip().splitlines() or ["?"])[-1]}
        return {"database": str(database), "path": path, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eclosion", required=True, type=Path, help="an Eclosion v1.3.10 checkout")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("databases", nargs="*", type=Path)
    args = parser.parse_args()
    passphrase = sys.stdin.read().rstrip("\n")
    if args.inside:
        run_in_eclosion(passphrase)
        return
    checkout = args.eclosion.resolve()
    head = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if head != ECLOSION_COMMIT:
        sys.exit(f"{checkout} is at {head}, not Eclosion v1.3.10 ({ECLOSION_COMMIT})")
    for database in args.databases:
        for path in ("inline", "alembic"):
            print(json.dumps(check(checkout, database.resolve(), path, passphrase)))


if __name__ == "__main__":
    main()
