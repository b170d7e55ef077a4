"""The daemon's SQL state projection: CPU per order of folding, taking rows and writing them, from a real journal.

python bench/projection.py [--orders 5000] [--chunk 20,5000] [--repeat 2] [--postgres URL]
                           [--baseline /path/to/other/checkout] [--json]

A journal of ``--orders`` market orders (each: initialized, submitted, accepted, filled, with its ledger records)
is written as bench/recovery.py's live run writes it, then projected into a fresh store by the daemon's own
:class:`StateProjection`, ``--chunk`` journal records per transaction (the daemon's projector writes small pieces
while orders flow, up to 5,000 when it catches up). Figures are CPU time (``time.process_time``) per order: the
projector shares the GIL with the order path, so its CPU is what it takes from order entry. ``write`` is the
StateWriter's work and the commit. SQLite by default (a temporary file); ``--postgres`` writes to a scratch schema
of that server, dropped afterwards. ``--baseline`` projects the same journal with another checkout's code (a
subprocess with that checkout first on the path), in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent.parent
# The code measured: this checkout, or the one a --baseline run names (the journal writer stays this one's).
CODE = Path(os.environ.get("ALPHINTRA_BENCH_CODE", HERE))
sys.path.insert(0, str(HERE / "bench"))
sys.path.insert(0, str(CODE))

from alphintra.daemon.trading.projector import StateProjection, digest  # noqa: E402
from alphintra.engine.core.instrument import InstrumentRegistry  # noqa: E402
from alphintra.storage.state import StateStore  # noqa: E402


@contextlib.contextmanager
def _database(directory: Path, postgres: str | None) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{directory / f'state-{uuid.uuid4().hex[:8]}.db'}"
        return
    import psycopg

    from alphintra.storage.state.db import libpq_url

    schema = f"bench_projection_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(postgres), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in postgres else "?"
        yield f"{postgres}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(libpq_url(postgres), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def project(journal: Path, url: str, chunk: int, orders: int) -> dict[str, float]:
    """Project the whole journal into a new store at ``url``; CPU microseconds per order of each step."""
    store = StateStore(url)
    try:
        store.create_all()
        # Imported here, once alphintra is (from CODE): recovery puts this checkout first on the path.
        from recovery import GOOG

        core = StateProjection(store, journal, InstrumentRegistry((GOOG,)))
        core.chunk = chunk
        core.open(1 << 62)
        fold = take = write = 0.0
        cpu = time.process_time
        while True:
            t0 = cpu()
            records = core.tail.read(1 << 62, chunk)
            if not records and not core.rebuilding:
                break
            for rec in records:
                core.fold.apply(rec)
            if records:
                core.fold.last_digest = digest(records[-1].record)
            t1 = cpu()
            rows, later = core.fold.take()
            t2 = cpu()
            core._write(rows, later)
            core.applied_seq = core.fold.seq
            t3 = cpu()
            fold, take, write = fold + t1 - t0, take + t2 - t1, write + t3 - t2
        counts = store.counts()
        assert counts["orders"] == orders and counts["trades"] == orders, counts
    finally:
        store.close()
    per = 1e6 / orders
    return {
        "fold_us": round(fold * per),
        "take_us": round(take * per),
        "write_us": round(write * per),
        "total_us": round((fold + take + write) * per),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--chunk", default="20,5000", help="journal records per transaction, e.g. 20,5000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--postgres", default=None, help="a postgresql:// URL: write to a scratch schema there")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout measured in the same run")
    parser.add_argument("--journal", type=Path, default=None, help=argparse.SUPPRESS)  # a baseline run's input
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    chunks = [int(c) for c in args.chunk.split(",") if c.strip()]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        journal = args.journal or Path(tmp) / "journal"
        if args.journal is None:
            from recovery import live

            live(args.orders, journal, 1 << 62, 1 << 62)
        for _ in range(args.repeat):
            for chunk in chunks:
                runs = [("this", lambda c=chunk: _here(Path(tmp), journal, args, c))]
                if args.baseline is not None:
                    runs.append(("baseline", lambda c=chunk: _baseline(args.baseline, journal, args, c)))
                for code, run in runs:
                    result = {"code": code, "chunk": chunk} | run()
                    results.append(result)
                    if not args.json:
                        print(
                            f"{code:<8} {result['backend']:<10} chunk {chunk:>5}  fold {result['fold_us']:>5} "
                            f"us/order  take {result['take_us']:>4}  write {result['write_us']:>5}  "
                            f"total {result['total_us']:>5}"
                        )
    if args.json:
        print(json.dumps({"orders": args.orders, "results": results}, indent=2))
    return 0


def _here(tmp: Path, journal: Path, args: argparse.Namespace, chunk: int) -> dict[str, object]:
    with _database(tmp, args.postgres) as url:
        return {"backend": url.split(":", 1)[0]} | project(journal, url, chunk, args.orders)


def _baseline(checkout: Path, journal: Path, args: argparse.Namespace, chunk: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--json", "--repeat", "1", "--chunk", str(chunk)]
    command += ["--orders", str(args.orders), "--journal", str(journal)]
    command += ["--postgres", args.postgres] if args.postgres else []
    env = os.environ | {"ALPHINTRA_BENCH_CODE": str(checkout.resolve())}
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    found: dict[str, object] = json.loads(out)["results"][0]
    return {k: v for k, v in found.items() if k not in ("code", "chunk")}


if __name__ == "__main__":
    raise SystemExit(main())
