"""`python -m cli` runs the newsbot command."""

from cli.main import main

main()
