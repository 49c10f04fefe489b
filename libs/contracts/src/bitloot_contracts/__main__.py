"""`python -m bitloot_contracts`: the `bitloot-contracts` command without its script."""

from bitloot_contracts.export import main

raise SystemExit(main())
