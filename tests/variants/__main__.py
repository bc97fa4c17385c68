from tests.mutants.patching import main
from tests.variants import VARIANTS

main("variants", VARIANTS)
