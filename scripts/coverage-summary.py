#!/usr/bin/env python3
"""Per-crate line and function coverage from `cargo llvm-cov report --json
--summary-only`, checked against the targets the README states. Exits 1
when a target is missed."""

import json
import os
import sys

# crate directory -> (least % of lines, least % of functions); None: no target.
TARGETS = {
    "adapters-http": (98.0, 100.0),
    "application": (98.0, 100.0),
    "bin-server": (85.0, None),
}
WORKSPACE_TARGET = 96.0  # % of lines


def crate_of(path, root):
    relative = os.path.relpath(path, root)
    return relative.split(os.sep)[0]


def main():
    report = json.load(open(sys.argv[1]))
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    crates = {}
    for data in report["data"]:
        for entry in data["files"]:
            crate = crate_of(entry["filename"], root)
            totals = crates.setdefault(crate, [0, 0, 0, 0])
            lines, functions = entry["summary"]["lines"], entry["summary"]["functions"]
            totals[0] += lines["covered"]
            totals[1] += lines["count"]
            totals[2] += functions["covered"]
            totals[3] += functions["count"]

    def pct(covered, count):
        return 100.0 * covered / count if count else 100.0

    missed = []
    print("| crate | lines | functions | target |")
    print("| --- | --- | --- | --- |")
    everything = [0, 0, 0, 0]
    for crate in sorted(crates):
        totals = crates[crate]
        everything = [a + b for a, b in zip(everything, totals)]
        lines, functions = pct(totals[0], totals[1]), pct(totals[2], totals[3])
        target = TARGETS.get(crate)
        verdict = ""
        if target:
            least_lines, least_functions = target
            wanted = f"lines >= {least_lines:g}%"
            ok = lines >= least_lines
            if least_functions is not None:
                wanted += f", functions >= {least_functions:g}%"
                ok = ok and functions >= least_functions
            verdict = f"{wanted}: {'met' if ok else 'MISSED'}"
            if not ok:
                missed.append(crate)
        print(f"| {crate} | {lines:.1f}% ({totals[0]}/{totals[1]}) | "
              f"{functions:.1f}% ({totals[2]}/{totals[3]}) | {verdict} |")
    lines, functions = pct(everything[0], everything[1]), pct(everything[2], everything[3])
    ok = lines >= WORKSPACE_TARGET
    if not ok:
        missed.append("workspace")
    print(f"| **workspace** | {lines:.1f}% | {functions:.1f}% | "
          f"lines >= {WORKSPACE_TARGET:g}%: {'met' if ok else 'MISSED'} |")
    if missed:
        print(f"coverage targets missed: {', '.join(missed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
