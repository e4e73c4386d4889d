"""`python -m ledger.schemagen [--golden] [--check]`: write or verify the contract files."""

from __future__ import annotations

import argparse
import sys

from ledger.schemagen.files import GOLDEN_DIR, SCHEMA_DIR, golden_files, schema_files, shown, stale, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.schemagen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is stale")
    parser.add_argument("--golden", action="store_true", help="also (re)write contracts/golden/")
    args = parser.parse_args(argv)
    targets = [(schema_files(), SCHEMA_DIR)]
    if args.golden:
        targets.append((golden_files(), GOLDEN_DIR))
    if args.check:
        problems = [line for expected, directory in targets for line in stale(expected, directory)]
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            command = "python -m ledger.schemagen" + (" --golden" if args.golden else "")
            print(f"{len(problems)} stale file(s); regenerate with: {command}", file=sys.stderr)
            return 1
        return 0
    for expected, directory in targets:
        for path in write(expected, directory):
            print(f"wrote {shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
