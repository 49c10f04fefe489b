"""Use cases of the admin service: accounts, sessions and the second factor; the views it
assembles from the other services; the repairs, refund decisions and hand deliveries it
asks of them, audited; the refunds it projects from the bus; and its retention sweep."""
