"""BitLoot in one process, for a first look."""
