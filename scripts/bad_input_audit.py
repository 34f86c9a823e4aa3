#!/usr/bin/env python
"""The scripted bad-input run of issue 19: every command fed what a careless user or an attacker
would give it, each run as the installed ``selfplay`` console script in its own process, its
output kept in OUT/NN-name.txt. It passes when no output holds "Traceback" and every command
ends with the exit status expected (2: a clear error; 0: an interactive session that refused
the input and went on). Run:

    python scripts/bad_input_audit.py [--out runs/bad-input-audit] [--only NAME ...]
    grep -rn Traceback runs/bad-input-audit      # finds nothing

tests/test_bad_input_audit.py runs a few cases in the default suite and all of them with -m slow.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "smoke.yaml")
LLM_SMOKE = str(ROOT / "configs" / "llm_smoke.yaml")
TIMEOUT = 120  # seconds a case may run


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]          # after `selfplay`; {dir} is the case folder of prepared files
    stdin: bytes = b""
    status: int = 2                # the exit status a clear refusal gives


class _Exploit:
    """A checkpoint that would run a command if it were unpickled."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def prepare(folder: Path) -> None:
    """The hostile files the cases name."""
    (folder / "not-utf8.yaml").write_bytes(b"seed: 1\n\xff\xfe\n")
    (folder / "not-yaml.yaml").write_text("seed: [1, 2\n")
    (folder / "not-a-mapping.yaml").write_text("- 1\n- 2\n")
    sgf = folder / "sgf"
    sgf.mkdir()
    (sgf / "garbage.sgf").write_bytes(b"(;SZ[7];B[zz];W[")
    (sgf / "binary.sgf").write_bytes(bytes(range(256)))
    (sgf / "taken.sgf").write_text("(;SZ[7];B[dd];W[dd])")
    (folder / "c4").mkdir()
    (folder / "c4" / "games.txt").write_bytes(b"4455\n44\xff55\n")
    (folder / "positions.txt").write_bytes(b"4\xc2\xb2 1\n44 abc\n\xff\xfe 3\n")
    (folder / "results.csv").write_bytes(b"\x00\x01\x02 not a csv\n")
    (folder / "text.pt").write_text("this is not a checkpoint\n")
    with open(folder / "pickle.pt", "wb") as f:
        pickle.dump({"model": _Exploit()}, f)
    (folder / "blocked").write_text("a file where a folder is expected")


CASES = [
    # moves and positions
    Case("solve-superscript", ("solve", "4\u00b2")),
    Case("solve-5000-digits", ("solve", "4" * 5000)),
    Case("solve-letters", ("solve", "abc")),
    Case("play-c4-garbage-moves", ("play", "connect4", "--o", "random"),
         stdin="\u00b2\n8\n0\nfoo\n\n4444444\n".encode() + b"\xff\xfe\nquit\n", status=0),
    Case("play-go-garbage-moves", ("play", "go", "--size", "5", "--o", "random"),
         stdin=b"Z9\nA0\nC3 C4\n\xc3\x28\nquit\n", status=0),
    Case("eval-c4-bad-positions", ("eval-c4", "random", "--positions", "{dir}/positions.txt")),
    Case("eval-c4-missing-positions", ("eval-c4", "random", "--positions", "{dir}/nothing.txt")),
    # the GTP engine: any line, any bytes
    Case("gtp-hostile-lines", ("gtp", "--player", "random", "--size", "5"),
         stdin=b"boardsize 99\nplay x z1\nplay b Z9\nkomi nan\ngenmove purple\n\xff\xfe\x00\n"
               + b"9" * 5000 + b" name\n\xc2\xb2 name\ntime_settings -1 0 0\nloadsgf /etc/passwd\nquit\n",
         status=0),
    # configs and overrides
    Case("train-config-not-utf8", ("train", "{dir}/not-utf8.yaml")),
    Case("train-config-not-yaml", ("train", "{dir}/not-yaml.yaml")),
    Case("train-config-not-mapping", ("train", "{dir}/not-a-mapping.yaml")),
    Case("train-missing-config", ("train", "{dir}/nothing.yaml")),
    Case("train-temperature-inf", ("train", SMOKE, "selfplay.temperature=.inf", "--runs", "{dir}/runs")),
    Case("train-seed-negative", ("train", SMOKE, "seed=-1", "--runs", "{dir}/runs")),
    Case("train-huge-network", ("train", SMOKE, "network.channels=60000", "--runs", "{dir}/runs")),
    Case("train-unknown-key", ("train", SMOKE, "optim.learing_rate=1", "--runs", "{dir}/runs")),
    Case("train-bad-pool-spec", ("train", SMOKE, "rating.pool=mcts:c=nan", "--runs", "{dir}/runs")),
    Case("train-bad-opponent-value", ("train", SMOKE, "eval.opponents=expert:depth=99", "--runs", "{dir}/runs")),
    Case("train-resume-nothing", ("train", "--resume", "{dir}/nothing")),
    Case("sft-garbage-sgf", ("sft", str(ROOT / "configs" / "go7.yaml"), "--games", "{dir}/sgf", "--runs", "{dir}/runs")),
    Case("sft-garbage-move-lines", ("sft", SMOKE, "--games", "{dir}/c4", "--runs", "{dir}/runs")),
    # players, checkpoints
    Case("play-text-checkpoint", ("play", "connect4", "--x", "net:{dir}/text.pt", "--o", "random")),
    Case("play-pickle-checkpoint", ("play", "connect4", "--x", "net:{dir}/pickle.pt", "--o", "random")),
    Case("play-missing-run", ("play", "connect4", "--x", "net:{dir}/nothing", "--o", "random")),
    Case("play-negative-seed", ("play", "connect4", "--x", "random:seed=-5", "--o", "random")),
    Case("play-komi-inf", ("play", "go", "--komi", "inf")),
    Case("play-unknown-player", ("play", "connect4", "--x", "alphago", "--o", "random")),
    # arena, ratings, figures
    Case("arena-results-missing-folder", ("arena", "random", "random:seed=2", "--games", "2",
                                          "--results", "{dir}/no/such/results.csv")),
    Case("arena-save-games-blocked", ("arena", "random", "random:seed=2", "--games", "2",
                                      "--save-games", "{dir}/blocked")),
    Case("arena-unquoted-spec", ("arena", "random", 'gtp:"gnugo --mode gtp', "--game", "go")),
    Case("elo-prior-draws-nan", ("elo", "{dir}/results.csv", "--prior-draws", "nan")),
    Case("elo-not-a-csv", ("elo", "{dir}/results.csv")),
    Case("plot-elo-missing", ("plot-elo", "{dir}/nothing")),
    # token mode
    Case("llm-sft-bad-override", ("llm", "sft", LLM_SMOKE, "sft.stpes=3", "--runs", "{dir}/runs")),
    Case("llm-grpo-no-checkpoint", ("llm", "grpo", LLM_SMOKE, "--runs", "{dir}/runs")),
    Case("llm-grpo-text-init", ("llm", "grpo", LLM_SMOKE, "--init", "{dir}/text.pt", "--runs", "{dir}/runs")),
    Case("llm-grpo-pickle-init", ("llm", "grpo", LLM_SMOKE, "--init", "{dir}/pickle.pt", "--runs", "{dir}/runs")),
    Case("llm-solve-bad-search", ("llm", "solve", "{dir}/text.pt", "--search", "beam:n=4")),
    Case("llm-config-not-utf8", ("llm", "sft", "{dir}/not-utf8.yaml", "--runs", "{dir}/runs")),
]

#: The cases the default test suite runs (one of each kind of input; the rest with -m slow).
QUICK = ("gtp-hostile-lines", "play-pickle-checkpoint", "llm-config-not-utf8")


@dataclass
class Outcome:
    case: Case
    status: int
    output: str

    @property
    def passed(self) -> bool:
        return self.status == self.case.status and "Traceback" not in self.output


def selfplay_command() -> list[str]:
    """The installed console script beside this Python (the way users run it), else the module."""
    script = Path(sys.executable).with_name("selfplay")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "selfplay.cli"]


def run_case(case: Case, folder: Path) -> Outcome:
    argv = [a.replace("{dir}", str(folder)) for a in case.argv]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    try:
        done = subprocess.run([*selfplay_command(), *argv], input=case.stdin, capture_output=True,
                              timeout=TIMEOUT, cwd=folder, env=env)
    except subprocess.TimeoutExpired:
        return Outcome(case, -1, f"timed out after {TIMEOUT} s")
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    if (folder / "PWNED").exists():
        output += "\nPWNED: a pickle in a checkpoint was executed\nTraceback (the audit marks it failed)\n"
    return Outcome(case, done.returncode, output)


def audit(cases: list[Case], out: Path, log=print) -> list[Outcome]:
    """Run ``cases``, each in a fresh folder of hostile files; keep every output under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for number, case in enumerate(cases, start=1):
        with tempfile.TemporaryDirectory(prefix="bad-input-") as tmp:
            folder = Path(tmp)
            prepare(folder)
            outcome = run_case(case, folder)
        (out / f"{number:02d}-{case.name}.txt").write_text(
            f"$ selfplay {' '.join(case.argv)}\nexit status {outcome.status} (expected {case.status})\n\n"
            f"{outcome.output}")
        log(f"{'ok  ' if outcome.passed else 'FAIL'} {case.name}: exit {outcome.status}, "
            f"{outcome.output.strip().splitlines()[-1][:110] if outcome.output.strip() else '(no output)'}")
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/bad-input-audit", help="folder of the outputs (emptied first)")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these cases")
    args = parser.parse_args(argv)
    known = {c.name: c for c in CASES}
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; known: {', '.join(known)}")
    cases = [known[name] for name in args.only] if args.only else CASES
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    failed = [o for o in audit(cases, out) if not o.passed]
    print(f"{len(cases) - len(failed)} of {len(cases)} cases passed; outputs in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
