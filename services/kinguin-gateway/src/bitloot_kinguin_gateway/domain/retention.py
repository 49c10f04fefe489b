"""How long the webhook log keeps what: pure rules, no I/O.

A call that failed authentication proves nothing and is kept only to look into attacks
and misconfigured secrets: `unauthenticated` (30 days by default). An authenticated call
is Kinguin's word about a purchase: it is kept `authenticated` (400 days by default: a
year of accounts and disputes with Kinguin, with margin), and past that only once the
reservation it is about has ended. Every authenticated call is judged (applied, or noted
why not) in the transaction that logs it, so none waits to be processed; the one that
may still be needed is news about a reservation still under way (an admin may replay it,
and it is the record of the purchase), kept whatever its age. A reservation has ended
when it failed, when Kinguin canceled or refunded its order, or when its order completed
and the keys were sealed to delivery.
"""

from typing import Final

from bitloot_kinguin_gateway.domain.reservation import GONE

RESERVATION_FAILED: Final = "failed"
KINGUIN_GONE: Final = tuple(sorted(GONE))
KINGUIN_COMPLETED: Final = "completed"
