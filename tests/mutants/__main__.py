from tests.mutants import MUTANTS
from tests.mutants.patching import main

main("mutants", MUTANTS)
