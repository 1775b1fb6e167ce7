"""`python -m index ...`: build, list, search and evaluate the index from a terminal."""

from index.cli import main

raise SystemExit(main())
