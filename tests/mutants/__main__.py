import sys

from mockserver.serve.cli import main
from tests.mutants import MUTANTS

name, *argv = sys.argv[1:]
if name not in MUTANTS:
    raise SystemExit(f"unknown mutant {name!r}; known: {', '.join(sorted(MUTANTS))}")
MUTANTS[name]()
sys.exit(main(argv))
