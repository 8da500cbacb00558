"""``python -m mtl_core``: the CLI. Ctrl-C while it still imports (torch takes seconds on a
busy machine) ends it like Ctrl-C later on: one line, exit status 130, no traceback."""

import sys

try:
    from mtl_core.cli.main import main

    code = main()
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    code = 130
sys.exit(code)
