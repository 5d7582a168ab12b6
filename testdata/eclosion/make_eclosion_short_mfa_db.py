#!/usr/bin/env python3
"""Make `eclosion-1.3.10-short-mfa.db` with Eclosion's own code: an Eclosion database whose
credentials hold an 8-character (40-bit) base32 MFA secret, as a finance service may issue
one and as Eclosion stores whatever it was given.

This script holds no Eclosion code: it drives an Eclosion v1.3.10 checkout (commit 6de2a48,
https://github.com/312-dev/eclosion) that the caller provides, and must be run with a Python
that has Eclosion's requirements installed (`requirements/base.txt`, and its `monarchmoney`
fork from `requirements/vcs.txt`), in a virtual environment outside this repository:

    python -m venv /tmp/eclosion-venv
    /tmp/eclosion-venv/bin/pip install -r ECLOSION/requirements/base.txt ...
    /tmp/eclosion-venv/bin/python make_eclosion_short_mfa_db.py --eclosion ECLOSION --out DIR

What it does, in a fresh state directory (`STATE_DIR`):

1. lays the checkout out as Eclosion's Docker image does (`*.py`, `blueprints/`, `core/`,
   `services/`, `state/`; no `config/alembic.ini`), so that Eclosion's `init_db()` takes the
   start-up path of its Docker image and desktop app (inline migrations, then
   `create_all()`), and calls it;
2. stores the credentials with Eclosion's `CredentialsManager.save()` (random salt and IVs,
   the current time: the file differs on every run, the values do not);
3. reads them back with Eclosion's `load()`, checks that `verify_passphrase()` refuses a
   wrong passphrase, and computes the TOTP code Eclosion's login would send at a fixed time
   (Eclosion's `_sanitize_base32_secret`, then `oathtool.generate_otp`, as its `monarchmoney`
   fork does);
4. disposes of the engine (SQLite checkpoints the WAL into the main file and removes the
   `-wal` and `-shm` files) and copies `eclosion.db` to `DIR`.

It prints what it checked as JSON; `README.md` in this folder records it.
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

FILE_NAME = "eclosion-1.3.10-short-mfa.db"
ECLOSION_COMMIT = "6de2a48837b69b97361d39096c53248fc1d53961"  # tag v1.3.10
PASSPHRASE = "Correct-Horse-9-Battery!"
EMAIL = "dave@example.net"
PASSWORD = "short-Mfa-pw-8"
MFA_SECRET = "JBSWY3DP"  # 8 base32 characters: 5 bytes ("Hello"), 40 bits
CODE_TIME = 1767225600  # 2026-01-01T00:00:00Z

# What Eclosion's Docker image copies from the repository (its Dockerfile's COPY lines).
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


def check_checkout(checkout: Path) -> None:
    head = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if head != ECLOSION_COMMIT:
        sys.exit(f"{checkout} is at {head}, not Eclosion v1.3.10 ({ECLOSION_COMMIT})")


def run_in_eclosion() -> None:
    """Runs inside the laid-out copy (cwd), with STATE_DIR set: Eclosion's own code only."""
    sys.path.insert(0, os.getcwd())
    from state.db.database import DATABASE_PATH, get_engine, init_db

    init_db()
    from state.state_manager import CredentialsManager

    manager = CredentialsManager()
    manager.save(EMAIL, PASSWORD, MFA_SECRET, PASSPHRASE)
    loaded = manager.load(PASSPHRASE)
    assert loaded == {"email": EMAIL, "password": PASSWORD, "mfa_secret": MFA_SECRET}, loaded
    assert manager.verify_passphrase(PASSPHRASE)
    assert not manager.verify_passphrase(PASSPHRASE + "x")

    import oathtool
    from monarch_utils import _sanitize_base32_secret

    sanitized = _sanitize_base32_secret(loaded["mfa_secret"])
    code = oathtool.generate_otp(sanitized, CODE_TIME // 30)
    get_engine().dispose()
    json.dump(
        {
            "database": str(DATABASE_PATH),
            "mfa_secret": loaded["mfa_secret"],
            "sanitized_by_eclosion": sanitized,
            "code_time": CODE_TIME,
            "code": code,
        },
        sys.stdout,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eclosion", required=True, type=Path, help="an Eclosion v1.3.10 checkout")
    parser.add_argument("--out", default=Path(__file__).parent, type=Path)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        run_in_eclosion()
        return
    checkout = args.eclosion.resolve()
    check_checkout(checkout)
    with tempfile.TemporaryDirectory(prefix="eclosion-short-mfa-") as tmp:
        app, state = Path(tmp) / "app", Path(tmp) / "state"
        app.mkdir()
        state.mkdir()
        docker_layout(checkout, app)
        env = dict(os.environ, STATE_DIR=str(state))
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--eclosion", str(checkout), "--inside"],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            sys.exit(f"Eclosion failed:\n{out.stderr}")
        result = json.loads(out.stdout)
        beside = sorted(p.name for p in state.iterdir() if p.name.startswith("eclosion.db"))
        assert beside == ["eclosion.db"], f"left beside the database: {beside}"
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state / "eclosion.db", args.out / FILE_NAME)
    result["written"] = str(args.out / FILE_NAME)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
