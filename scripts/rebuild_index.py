"""Re-embed the whole archive into a new index and swap it in (same as `newsbot index rebuild`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cli.main import main

if __name__ == "__main__":
    main(["index", "rebuild", *sys.argv[1:]])
