"""Issue 15's targets for ``bench/serve.py --db postgres``, judged from measured figures.

Pure: ``summarize`` turns the alternated bare/ours rounds of one setting into a ``Figure``
(medians), and ``judge`` turns the figures into ``Verdict``s, so that a test can hold the
PASS/FAIL logic without running wrk.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from wrk import Load

STALL_SHARE = 0.2  # a stall: a whole second with under a fifth of the run's median completions
ONE_TENANT_RATIO_MIN = 0.45
MANY_TENANTS_RATIO_MIN, MANY_TENANTS, SCALE_MIN = 0.55, 20, 1.5
SERVERS_MAX_TARGET = 4  # the targets' server count ("4 workers")
CPU_SHARE_MAX = 1.5  # PostgreSQL's server CPU per create over SQLite's
P99_MS_MAX, P99_CONNECTIONS = 100.0, 8
CLEAN_CONNECTIONS = (64, 256)  # 0 errors and no stall at these, where run
SQLITE_WORKERS_RATIO_MIN = 0.6


@dataclass(frozen=True, slots=True)
class Figure:
    """One setting (database, server processes, tenants, connections), medians of rounds."""

    db: str  # sqlite | postgres
    servers: int
    tenants: int
    connections: int
    rate: float  # creates/s
    bare_rate: float
    ratio: float  # median of the rounds' ours/bare
    p50_ms: float
    p99_ms: float
    errors: int  # summed over the rounds
    requests: int
    cpu_ms: float | None  # server CPU per create, all server processes
    db_cpu_ms: float | None  # PostgreSQL backends' CPU per create
    slowest_share: float  # the worst round's slowest second over its median second

    @property
    def label(self) -> str:
        return (
            f"{self.db} x{self.servers}, {self.tenants:>2} tenant{'s' if self.tenants > 1 else ' '}"
        )


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarize(
    db: str, servers: int, tenants: int, connections: int, rounds: Sequence[tuple[Load, Load]]
) -> Figure:
    """The figure of ``rounds``: (bare, ours) pairs measured one after the other."""
    bare, ours = [b for b, _ in rounds], [o for _, o in rounds]
    return Figure(
        db, servers, tenants, connections,
        rate=statistics.median(o.rate for o in ours),
        bare_rate=statistics.median(b.rate for b in bare),
        ratio=statistics.median(o.rate / b.rate for b, o in rounds),
        p50_ms=statistics.median(o.p50_ms for o in ours),
        p99_ms=statistics.median(o.p99_ms for o in ours),
        errors=sum(o.errors for o in ours),
        requests=sum(o.requests for o in ours),
        cpu_ms=_median([o.cpu_ms for o in ours]),
        db_cpu_ms=_median([o.db_cpu_ms for o in ours]),
        slowest_share=min(o.slowest_share for o in ours),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    passed: bool | None  # None: the figures it needs were not measured
    detail: str

    def describe(self) -> str:
        word = {True: "PASS", False: "FAIL", None: "NOT RUN"}[self.passed]
        return f"{word:<7}  {self.target}: {self.detail}"


def _find(figures: Sequence[Figure], db: str, servers: int, tenants: int) -> Figure | None:
    """The figure at the fewest connections measured for that setting."""
    found = [f for f in figures if (f.db, f.servers, f.tenants) == (db, servers, tenants)]
    return min(found, key=lambda f: f.connections, default=None)


def _ratio_target(figures: Sequence[Figure], tenants: int, ratio_min: float) -> Verdict:
    name = f"{tenants} tenant(s), {SERVERS_MAX_TARGET} workers >= {ratio_min}x bare"
    many = _find(figures, "postgres", SERVERS_MAX_TARGET, tenants)
    if many is None:
        return Verdict(name, None, "not measured")
    detail = f"{many.ratio:.3f}x ({many.rate:,.0f}/s, bare {many.bare_rate:,.0f}/s)"
    return Verdict(name, many.ratio >= ratio_min, f"{detail} at {many.connections} conn")


def _scale_target(figures: Sequence[Figure]) -> Verdict:
    name = f"{MANY_TENANTS} tenants, {SERVERS_MAX_TARGET} workers >= {SCALE_MIN}x 1 worker"
    one = _find(figures, "postgres", 1, MANY_TENANTS)
    many = _find(figures, "postgres", SERVERS_MAX_TARGET, MANY_TENANTS)
    if one is None or many is None or one.connections != many.connections:
        return Verdict(name, None, "not measured")
    scale = many.rate / one.rate
    detail = f"{scale:.2f}x ({many.rate:,.0f}/s over {one.rate:,.0f}/s)"
    return Verdict(name, scale >= SCALE_MIN, detail)


def _cpu_target(figures: Sequence[Figure]) -> Verdict:
    """Like for like: PostgreSQL's one process against SQLite's, per tenants and connections."""
    name = f"PostgreSQL server CPU/create <= {CPU_SHARE_MAX}x SQLite's (1 process each)"
    shares = []
    for pg in figures:
        sq = [
            f for f in figures
            if (f.db, f.servers, f.tenants, f.connections)
            == ("sqlite", 1, pg.tenants, pg.connections)
        ]  # fmt: skip
        if pg.db == "postgres" and pg.servers == 1 and sq and pg.cpu_ms and sq[0].cpu_ms:
            shares.append((pg.cpu_ms / sq[0].cpu_ms, pg, sq[0]))
    if not shares:
        return Verdict(name, None, "not measured")
    worst, pg, sq = max(shares, key=lambda s: s[0])
    detail = (
        f"worst {worst:.2f}x ({pg.cpu_ms:.2f} ms against {sq.cpu_ms:.2f} ms,"
        f" {pg.tenants} tenant(s), {pg.connections} conn)"
    )
    return Verdict(name, worst <= CPU_SHARE_MAX, detail)


def _clean_target(figures: Sequence[Figure]) -> Verdict:
    run = sorted({f.connections for f in figures if f.connections in CLEAN_CONNECTIONS})
    name = "PostgreSQL: 0 errors and no stall at " + " and ".join(map(str, CLEAN_CONNECTIONS))
    at = [f for f in figures if f.db == "postgres" and f.connections in CLEAN_CONNECTIONS]
    if not at:
        return Verdict(name, None, "not measured")
    errors, slowest = sum(f.errors for f in at), min(f.slowest_share for f in at)
    detail = f"{errors:,} errors, slowest second {slowest:.0%} of median (at {run})"
    return Verdict(name, errors == 0 and slowest >= STALL_SHARE, detail)


def _p99_target(figures: Sequence[Figure]) -> Verdict:
    name = f"PostgreSQL p99 <= {P99_MS_MAX:.0f} ms at {P99_CONNECTIONS} connections"
    at = [f for f in figures if f.db == "postgres" and f.connections == P99_CONNECTIONS]
    if not at:
        return Verdict(name, None, "not measured")
    worst = max(at, key=lambda f: f.p99_ms)
    detail = f"worst {worst.p99_ms:.1f} ms ({worst.label.strip()})"
    return Verdict(name, worst.p99_ms <= P99_MS_MAX, detail)


def _sqlite_target(figures: Sequence[Figure]) -> Verdict:
    name = f"SQLite --workers 2, 1 tenant >= {SQLITE_WORKERS_RATIO_MIN}x bare"
    two = _find(figures, "sqlite", 2, 1)
    if two is None:
        return Verdict(name, None, "not measured")
    detail = f"{two.ratio:.3f}x ({two.rate:,.0f}/s) at {two.connections} conn"
    return Verdict(name, two.ratio >= SQLITE_WORKERS_RATIO_MIN, detail)


def judge(figures: Sequence[Figure]) -> list[Verdict]:
    """Issue 15's targets, each PASS, FAIL or NOT RUN (its figures were not measured)."""
    return [
        _ratio_target(figures, 1, ONE_TENANT_RATIO_MIN),
        _ratio_target(figures, MANY_TENANTS, MANY_TENANTS_RATIO_MIN),
        _scale_target(figures),
        _cpu_target(figures),
        _clean_target(figures),
        _p99_target(figures),
        _sqlite_target(figures),
    ]
