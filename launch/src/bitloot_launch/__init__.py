"""Starting BitLoot on one machine: the wiring table, its servers and the supervisor."""
