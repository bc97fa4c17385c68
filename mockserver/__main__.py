import sys

from mockserver.serve.cli import main

sys.exit(main())
