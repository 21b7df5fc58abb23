#!/usr/bin/env python3
"""Benchmark harness: tonghop against the calamine floor and three Python peers.

    harness.py --scale NAME --data DIR --runs N
               [--tools tonghop,floor,physical,polars,polars-pool,duckdb,pandas]
               [--json OUT.json] [--rerun-runs K] [--python PY] [--work DIR] [--keep]

DIR is a folder written by bench_gen: DIR/bhyt/*.xlsx and DIR/expected.json.

Each round runs every tool once; the order rotates by one each round, so no
tool is always first (cold page cache, CPU boost) or always last. "tonghop
(rerun)" is a tool of its own in the rotation: tonghop again on an out folder
that already holds a completed run of the same inbox (prepared once, untimed),
so it measures the incremental path (nothing changed: the cache is reused).
Plain "tonghop" gets a fresh empty out folder every run (cold).

Per run:
* wall time: perf_counter around spawn .. wait4;
* peak RSS of the process tree: a sampler thread sums the resident set of the
  process and all its descendants every ~10 ms (field 24 of /proc/PID/stat,
  the counter VmRSS shows). Each tick reads the known members; every third
  tick rescans /proc for new descendants (a full scan costs ~1 ms of CPU, too
  much to do every 10 ms on a 2-core machine). A descendant that lives less
  than ~30 ms can be missed;
* ru_maxrss from os.wait4 as a cross-check: the largest single process of the
  tree (the kernel's maximum, not a sum), so it is <= the tree peak unless a
  short peak fell between two samples;
* CPU time (user + sys of the tree, from wait4).

Every tool that counts is checked against DIR/expected.json "persons"; a
mismatch aborts the benchmark (exit 2): the comparison would be void.
tonghop's counts come from OUT/indicators.csv; it has no "other" indicator,
so "other" is checked as total minus the three groups (the groups partition
the persons). The floor counts nothing and is not checked.

The data files are read once before the first round so that every tool finds
them in the page cache.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PAGE = os.sysconf("SC_PAGE_SIZE")
GROUPS = ["total", "ethnic_minority", "poor_near_poor", "social_protection", "other"]
PEERS = {
    "polars": "polars_read_excel.py",
    "polars-pool": "polars_pool.py",
    "duckdb": "duckdb_read_xlsx.py",
    "pandas": "pandas_calamine.py",
}
ALL_TOOLS = ["tonghop", "floor", "physical", "polars", "polars-pool", "duckdb", "pandas"]
RERUN = "tonghop (rerun)"
PY_PACKAGES = ["polars", "fastexcel", "pyarrow", "duckdb", "duckdb-extension-excel",
               "pandas", "python-calamine", "numpy"]


# --------------------------------------------------------------------------
# Process-tree memory sampling


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, rss pages) of a process, None if it is gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        try:
            s = os.read(fd, 2048)
        finally:
            os.close(fd)
    except OSError:
        return None
    rest = s[s.rindex(b")") + 2:].split(b" ", 23)  # after "pid (comm) "
    return int(rest[1]), int(rest[21])


def _scan() -> dict[int, tuple[int, int]]:
    procs = {}
    for d in os.listdir("/proc"):
        if d[0].isdigit():
            st = _stat(int(d))
            if st is not None:
                procs[int(d)] = st
    return procs


class TreeSampler(threading.Thread):
    def __init__(self, root: int, interval: float = 0.010, rescan_every: int = 3):
        super().__init__(daemon=True)
        self.root, self.interval, self.rescan_every = root, interval, rescan_every
        self.peak_bytes = 0
        self.samples = 0
        self.max_procs = 1
        self._done = threading.Event()

    def run(self) -> None:
        members = [self.root]
        tick = 0
        while True:
            if tick % self.rescan_every == 0:
                procs = _scan()
                children: dict[int, list[int]] = {}
                for pid, (ppid, _) in procs.items():
                    children.setdefault(ppid, []).append(pid)
                members, todo = [], [self.root]
                while todo:
                    pid = todo.pop()
                    if pid in procs:
                        members.append(pid)
                        todo.extend(children.get(pid, ()))
                total = sum(procs[p][1] for p in members)
            else:
                total = 0
                for p in members:
                    st = _stat(p)
                    if st is not None:
                        total += st[1]
            self.samples += 1
            self.max_procs = max(self.max_procs, len(members))
            self.peak_bytes = max(self.peak_bytes, total * PAGE)
            tick += 1
            if self._done.wait(self.interval):
                return

    def stop(self) -> None:
        self._done.set()
        self.join()


@dataclass
class Run:
    tool: str
    round: int
    wall_s: float
    cpu_s: float
    peak_tree_rss_mib: float
    ru_maxrss_mib: float
    samples: int
    max_procs: int
    counts: dict | None = None
    note: str = ""


def measure(cmd: list[str], log_dir: Path, tag: str, env: dict | None = None):
    """Run cmd; return (wall, rusage, status, sampler, stdout, stderr)."""
    out_path, err_path = log_dir / f"{tag}.out", log_dir / f"{tag}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        sampler = TreeSampler(p.pid)
        sampler.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        sampler.stop()
        p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru, p.returncode, sampler, out_path.read_text(errors="replace"), \
        err_path.read_text(errors="replace")


# --------------------------------------------------------------------------
# Tools


def loud(msg: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n{msg}\n{bar}\n", file=sys.stderr, flush=True)


def tonghop_counts(out_dir: Path) -> dict:
    ind = {}
    with open(out_dir / "indicators.csv", newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if row and row[0].startswith("bhyt."):
                ind[row[0]] = int(float(row[1]))
    c = {
        "total": ind["bhyt.cards_total"],
        "ethnic_minority": ind["bhyt.ethnic_minority"],
        "poor_near_poor": ind["bhyt.poor_near_poor"],
        "social_protection": ind["bhyt.social_protection"],
    }
    c["other"] = c["total"] - c["ethnic_minority"] - c["poor_near_poor"] - c["social_protection"]
    return c


class Bench:
    def __init__(self, args):
        self.args = args
        self.data = Path(args.data).resolve()
        self.expected = json.loads((self.data / "expected.json").read_text())
        self.persons = {g: int(self.expected["persons"].get(g, 0)) for g in GROUPS}
        self.data_rows = int(self.expected["files"]) * int(self.expected["rows_per_file"])
        target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/tonghop-target"))
        self.tonghop = Path(args.tonghop or target / "release/tonghop")
        self.floor = Path(args.floor or target / "release/examples/calamine_floor")
        self.physical = target / "release/examples/physical_floor"
        cfg = BENCH / "tonghop-bench.toml"
        self.config = Path(args.config) if args.config else (
            cfg if cfg.exists() else REPO / "config/tonghop.toml")
        self.python = args.python or sys.executable
        self.own_work = not args.work
        self.work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="tonghop-bench-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.logs = self.work / "logs"
        self.logs.mkdir(exist_ok=True)
        self.rerun_out = self.work / "tonghop-rerun-out"
        self.runs: list[Run] = []
        self.n = 0

    def tonghop_cmd(self, out: Path) -> list[str]:
        return [str(self.tonghop), "run", "--config", str(self.config), "--inbox", str(self.data),
                "--out", str(out), "--only", "bhyt"]

    def check(self, tool: str, counts: dict) -> None:
        if counts != self.persons:
            diff = {g: (counts.get(g), self.persons[g]) for g in GROUPS
                    if counts.get(g) != self.persons[g]}
            loud(f"COUNT MISMATCH: {tool} disagrees with {self.data / 'expected.json'}\n"
                 f"  got      {counts}\n  expected {self.persons}\n"
                 f"  (got, expected) by group: {diff}\n"
                 f"THE COMPARISON IS VOID. Logs: {self.logs}")
            sys.exit(2)

    def fail(self, tool: str, rc: int, stdout: str, stderr: str) -> None:
        loud(f"{tool} FAILED (exit {rc})\n--- stdout (tail)\n{stdout[-2000:]}\n"
             f"--- stderr (tail)\n{stderr[-4000:]}")
        sys.exit(3)

    def prepare_rerun(self) -> None:
        shutil.rmtree(self.rerun_out, ignore_errors=True)
        self.rerun_out.mkdir()
        r = subprocess.run(self.tonghop_cmd(self.rerun_out), capture_output=True, text=True)
        if r.returncode:
            self.fail("tonghop (preparing the rerun folder)", r.returncode, r.stdout, r.stderr)
        self.check(RERUN, tonghop_counts(self.rerun_out))

    def run_tool(self, tool: str, rnd: int) -> Run:
        self.n += 1
        tag = f"{self.n:03d}-{tool.replace(' ', '_').replace('(', '').replace(')', '')}"
        out_dir = None
        note = ""
        if tool == "tonghop":
            out_dir = self.work / f"tonghop-out-{self.n}"
            out_dir.mkdir()
            cmd = self.tonghop_cmd(out_dir)
        elif tool == RERUN:
            out_dir = self.rerun_out
            cmd = self.tonghop_cmd(out_dir)
        elif tool == "floor":
            cmd = [str(self.floor), str(self.data / "bhyt")]
        elif tool == "physical":
            cmd = [str(self.physical), str(self.data / "bhyt")]
        else:
            out_dir = self.work / f"{tool}-{self.n}.parquet"
            cmd = [self.python, str(BENCH / "peers" / PEERS[tool]), str(self.data), str(out_dir)]

        wall, ru, rc, sampler, stdout, stderr = measure(cmd, self.logs, tag)
        if rc != 0:
            self.fail(tool, rc, stdout, stderr)

        counts = None
        if tool in ("tonghop", RERUN):
            counts = tonghop_counts(out_dir)
            files_line = next((ln for ln in stdout.splitlines() if ln.startswith("files:")), "")
            note = files_line.removeprefix("files: ").strip()
            if tool == "tonghop":
                shutil.rmtree(out_dir, ignore_errors=True)
        elif tool in PEERS:
            lines = [ln for ln in stdout.splitlines() if ln.strip()]
            try:
                counts = {k: int(v) for k, v in json.loads(lines[-1]).items()}
            except (IndexError, ValueError) as e:
                self.fail(f"{tool} (no JSON line on stdout: {e})", rc, stdout, stderr)
            if not out_dir.exists() or out_dir.stat().st_size == 0:
                self.fail(f"{tool} (no Parquet written)", rc, stdout, stderr)
            out_dir.unlink()
        if counts is not None:
            self.check(tool, counts)

        run = Run(tool=tool, round=rnd, wall_s=wall, cpu_s=ru.ru_utime + ru.ru_stime,
                  peak_tree_rss_mib=sampler.peak_bytes / 2**20,
                  ru_maxrss_mib=ru.ru_maxrss / 1024, samples=sampler.samples,
                  max_procs=sampler.max_procs, counts=counts, note=note)
        print(f"  round {rnd} {tool:16s} {wall:8.3f} s  cpu {run.cpu_s:7.2f} s  "
              f"tree peak {run.peak_tree_rss_mib:8.1f} MiB  ru_maxrss {run.ru_maxrss_mib:8.1f} MiB"
              f"  procs {run.max_procs}" + ("  ok" if counts else ""), file=sys.stderr, flush=True)
        return run

    def warm_page_cache(self) -> None:
        for f in sorted((self.data / "bhyt").rglob("*")):
            if f.is_file():
                with open(f, "rb") as fh:
                    while fh.read(1 << 20):
                        pass

    def main(self) -> dict:
        tools = [t.strip() for t in self.args.tools.split(",") if t.strip()]
        bad = [t for t in tools if t not in ALL_TOOLS]
        if bad:
            raise SystemExit(f"unknown tool(s) {bad}; known: {ALL_TOOLS}")
        rotation = list(tools)
        if "tonghop" in tools and self.args.rerun_runs != 0:
            rotation.insert(rotation.index("tonghop") + 1, RERUN)
        for exe in ([self.tonghop] if "tonghop" in tools else []) + \
                   ([self.floor] if "floor" in tools else []) + \
                   ([self.physical] if "physical" in tools else []):
            if not exe.exists():
                raise SystemExit(f"missing binary {exe} (cargo build --release --bin tonghop --examples)")

        facts = machine_facts(self)
        facts["load_before"] = uptime()
        self.warm_page_cache()
        if RERUN in rotation:
            self.prepare_rerun()

        rounds = self.args.runs
        rerun_left = self.args.rerun_runs if self.args.rerun_runs is not None else rounds
        print(f"benchmark {self.args.scale}: {self.data} ({self.data_rows} data rows), "
              f"{rounds} rounds, work dir {self.work}", file=sys.stderr, flush=True)
        for rnd in range(rounds):
            k = rnd % len(rotation)
            order = rotation[k:] + rotation[:k]
            for tool in order:
                if tool == RERUN:
                    if rerun_left <= 0:
                        continue
                    rerun_left -= 1
                self.runs.append(self.run_tool(tool, rnd + 1))
        while rerun_left > 0:  # more reruns asked for than rounds
            rerun_left -= 1
            self.runs.append(self.run_tool(RERUN, rounds))
        facts["load_after"] = uptime()
        for key, exe in (("tonghop_binary_mtime", self.tonghop), ("floor_binary_mtime", self.floor)):
            if facts[key] != file_mtime(exe):
                facts.setdefault("warnings", []).append(
                    f"{exe} changed during the benchmark (rebuilt?): runs may mix two builds")
                loud(facts["warnings"][-1])

        summary = summarize(self.runs, [t for t in rotation], self.data_rows)
        report = {
            "scale": self.args.scale,
            "data": str(self.data),
            "expected": self.expected,
            "data_rows": self.data_rows,
            "rounds": rounds,
            "machine": facts,
            "summary": summary,
            "runs": [asdict(r) for r in self.runs],
        }
        report["markdown"] = markdown(report)
        return report


# --------------------------------------------------------------------------
# Facts and report


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def cmd_out(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
        return r.stdout.strip() if r.returncode == 0 else ""
    except OSError:
        return ""


def file_mtime(p: Path) -> str | None:
    try:
        return dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).isoformat(
            timespec="seconds")
    except OSError:
        return None


def machine_facts(b: Bench) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    rev = cmd_out(["git", "rev-parse", "--short=12", "HEAD"], REPO)
    if rev and cmd_out(["git", "status", "--porcelain", "--untracked-files=no"], REPO):
        rev += "-dirty"
    versions = {}
    for p in PY_PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    peers_python = cmd_out([b.python, "-c", "import json, importlib.metadata as m\n"
                            "v = {}\n"
                            f"for p in {PY_PACKAGES!r}:\n"
                            "    try: v[p] = m.version(p)\n"
                            "    except m.PackageNotFoundError: v[p] = None\n"
                            "import sys; v['python'] = sys.version.split()[0]\n"
                            "print(json.dumps(v))"])
    mtime = file_mtime
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "nproc": os.cpu_count(),
        "nproc_available": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "mem_gib": round(mem_kib / 2**20, 1),
        "tonghop_git": rev,
        "tonghop_version": cmd_out([str(b.tonghop), "--version"]),
        "tonghop_binary": str(b.tonghop),
        "tonghop_binary_mtime": mtime(b.tonghop),
        "floor_binary_mtime": mtime(b.floor),
        "tonghop_config": str(b.config),
        "python": b.python,
        "python_packages": json.loads(peers_python) if peers_python else versions,
    }


def summarize(runs: list[Run], tools: list[str], data_rows: int) -> list[dict]:
    out = []
    for t in tools:
        rs = [r for r in runs if r.tool == t]
        if not rs:
            continue
        walls = [r.wall_s for r in rs]
        med = statistics.median(walls)
        out.append({
            "tool": t,
            "runs": len(rs),
            "wall_median_s": med,
            "wall_min_s": min(walls),
            "wall_max_s": max(walls),
            "cpu_median_s": statistics.median(r.cpu_s for r in rs),
            "peak_rss_median_mib": statistics.median(r.peak_tree_rss_mib for r in rs),
            "ru_maxrss_median_mib": statistics.median(r.ru_maxrss_mib for r in rs),
            "rows_per_s": data_rows / med if med > 0 else None,
        })
    base = next((s["wall_median_s"] for s in out if s["tool"] == "tonghop"), None)
    peers = [s for s in out if s["tool"] in PEERS]
    fastest = min(peers, key=lambda s: s["wall_median_s"]) if peers else None
    for s in out:
        s["ratio_to_tonghop"] = s["wall_median_s"] / base if base else None
        # tonghop's wall over the fastest peer's, and over each floor's.
        s["ratio_to_fastest_peer"] = (s["wall_median_s"] / fastest["wall_median_s"]
                                      if fastest else None)
        s["fastest_peer"] = fastest["tool"] if fastest else None
    return out


def targets(summary: list[dict]) -> list[str]:
    """tonghop against the fastest peer and the floors, as lines for the report."""
    by = {s["tool"]: s for s in summary}
    t = by.get("tonghop")
    if not t:
        return []
    lines = []
    peers = [s for s in summary if s["tool"] in PEERS]
    if peers:
        f = min(peers, key=lambda s: s["wall_median_s"])
        lines.append(
            f"- tonghop ÷ fastest peer ({f['tool']}): wall {t['wall_median_s'] / f['wall_median_s']:.2f}, "
            f"peak RSS {t['peak_rss_median_mib']:.0f} vs {f['peak_rss_median_mib']:.0f} MiB")
    for fl, label in (("floor", "calamine floor"), ("physical", "physical floor")):
        if fl in by:
            lines.append(f"- tonghop ÷ {label}: wall "
                         f"{t['wall_median_s'] / by[fl]['wall_median_s']:.2f}")
    return lines


def markdown(rep: dict) -> str:
    m = rep["machine"]
    e = rep["expected"]
    lines = [
        f"## Benchmark: {rep['scale']} ({e['files']} file(s) × {e['rows_per_file']:,} rows "
        f"= {rep['data_rows']:,} data rows, {e['persons']['total']:,} persons), "
        f"{rep['rounds']} rounds",
        "",
        "| tool | median wall s | min–max s | CPU s | peak RSS MiB (tree) | ru_maxrss MiB "
        "| rows/s | × tonghop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in rep["summary"]:
        ratio = f"{s['ratio_to_tonghop']:.2f}" if s.get("ratio_to_tonghop") else "–"
        lines.append(
            f"| {s['tool']} | {s['wall_median_s']:.3f} | {s['wall_min_s']:.3f}–{s['wall_max_s']:.3f} "
            f"| {s['cpu_median_s']:.2f} | {s['peak_rss_median_mib']:.0f} "
            f"| {s['ru_maxrss_median_mib']:.0f} | {s['rows_per_s']:,.0f} | {ratio} |")
    pk = m["python_packages"]
    lines += [""] + targets(rep["summary"])
    lines += [
        "",
        "Counts: every counting tool matched expected.json in every run "
        "(tonghop: indicators.csv, \"other\" = total − the three groups; floor: not checked).",
        "Peak RSS: median over runs of the peak of the summed RSS of the process tree "
        "(sampled ~10 ms); ru_maxrss: largest single process (wait4). "
        "CPU s: user + sys of the tree. tonghop: fresh out folder each run; "
        "tonghop (rerun): an out folder that already holds a completed run.",
        "",
        f"- date: {m['date']}",
        f"- machine: {m['nproc']} CPUs ({m['nproc_available']} available), {m['cpu']}, "
        f"{m['mem_gib']} GiB, Linux {m['kernel']}",
        f"- load before: {m['load_before']}",
        f"- load after: {m['load_after']}",
        f"- tonghop: {m['tonghop_version']}, git {m['tonghop_git']}, binary built "
        f"{m['tonghop_binary_mtime']}, config {m['tonghop_config']}",
        "- python " + str(pk.get("python", platform.python_version())) + ": "
        + ", ".join(f"{k} {v}" for k, v in pk.items() if k != "python"),
    ]
    lines += [f"- WARNING: {w}" for w in m.get("warnings", [])]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", required=True, help="label of the data set (commune, province, big)")
    ap.add_argument("--data", required=True, help="folder written by bench_gen")
    ap.add_argument("--runs", type=int, default=5, help="rounds (each tool once per round)")
    ap.add_argument("--tools", default=",".join(ALL_TOOLS),
                    help="comma-separated subset of " + ",".join(ALL_TOOLS))
    ap.add_argument("--rerun-runs", type=int, default=None,
                    help="timed incremental reruns of tonghop (default: --runs; 0: none)")
    ap.add_argument("--json", help="write the full report (every run) here")
    ap.add_argument("--python", help="interpreter for the peers (default: this one)")
    ap.add_argument("--tonghop", help="tonghop binary (default: $CARGO_TARGET_DIR/release/tonghop)")
    ap.add_argument("--floor", help="calamine_floor binary")
    ap.add_argument("--config", help="tonghop config (default: bench/tonghop-bench.toml)")
    ap.add_argument("--work", help="scratch folder (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (logs)")
    args = ap.parse_args()
    if args.runs < 1:
        raise SystemExit("--runs must be >= 1")

    b = Bench(args)
    try:
        rep = b.main()
    except SystemExit:
        print(f"scratch folder kept: {b.work}", file=sys.stderr)
        raise
    print(rep["markdown"])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n")
        print(f"\nfull report: {args.json}", file=sys.stderr)
    if args.keep or not b.own_work:
        print(f"scratch folder kept: {b.work}", file=sys.stderr)
    else:
        shutil.rmtree(b.work, ignore_errors=True)


if __name__ == "__main__":
    main()
