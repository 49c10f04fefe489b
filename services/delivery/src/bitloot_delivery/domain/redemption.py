"""How to redeem a key, per platform: a few short steps the reveal page shows under each
product. The platform is the catalog's name for it (Kinguin's ``platform``, e.g. "Steam",
"GOG COM", "EA App", "Xbox Series X|S"), recognised by a word in it; an unknown or
missing platform gets the general help, never a guess."""

from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    STEAM = "steam"
    GOG = "gog"
    UPLAY = "uplay"
    EA = "ea"
    EPIC = "epic"
    XBOX = "xbox"
    PLAYSTATION = "playstation"
    NINTENDO = "nintendo"
    OTHER = "other"


@dataclass(frozen=True)
class Help:
    """The help of one platform: its name as shown, and the steps."""

    name: str
    steps: tuple[str, ...]


HELP = {
    Platform.STEAM: Help(
        "Steam",
        (
            "Open the Steam app and sign in.",
            "Choose Games, then Activate a Product on Steam.",
            "Paste the key and follow the steps; the game appears in your library.",
        ),
    ),
    Platform.GOG: Help(
        "GOG",
        (
            "Sign in at gog.com/redeem (or in GOG Galaxy: Add games, Redeem GOG code).",
            "Paste the key and confirm; the game appears in your library.",
        ),
    ),
    Platform.UPLAY: Help(
        "Ubisoft Connect (Uplay)",
        (
            "Open Ubisoft Connect and sign in.",
            "Open the menu, choose Activate product key, paste the key and confirm.",
        ),
    ),
    Platform.EA: Help(
        "EA app (Origin)",
        (
            "Open the EA app and sign in.",
            "Open the menu, choose Redeem code, paste the key and confirm.",
        ),
    ),
    Platform.EPIC: Help(
        "Epic Games",
        (
            "Open the Epic Games Launcher and sign in.",
            "Choose your account, then Redeem Code; paste the key and confirm.",
        ),
    ),
    Platform.XBOX: Help(
        "Xbox",
        (
            "Sign in at microsoft.com/redeem, or on the console open the Microsoft Store.",
            "Choose Redeem, enter the 25-character code and confirm.",
        ),
    ),
    Platform.PLAYSTATION: Help(
        "PlayStation",
        (
            "On the console open PlayStation Store, or sign in at store.playstation.com.",
            "Choose Redeem Codes (under your profile or the … menu), enter the code and confirm.",
        ),
    ),
    Platform.NINTENDO: Help(
        "Nintendo",
        (
            "On the Switch open Nintendo eShop and choose the account to use.",
            "Choose Redeem Code, enter the 16-character code and confirm.",
        ),
    ),
    Platform.OTHER: Help(
        "your platform",
        (
            "The product's name or its store page says where the key is redeemed "
            "(Steam, GOG, Ubisoft Connect, EA app, Epic Games, Xbox, PlayStation or Nintendo).",
            "Open that app or store, find Redeem or Activate a product, and paste the key.",
            "If the key is refused, do not try it again elsewhere: contact support with "
            "your order number.",
        ),
    ),
}

# A word in the catalog's platform name, first match wins (EA last: "ea" is short).
_WORDS = (
    ("steam", Platform.STEAM),
    ("gog", Platform.GOG),
    ("uplay", Platform.UPLAY),
    ("ubisoft", Platform.UPLAY),
    ("origin", Platform.EA),
    ("epic", Platform.EPIC),
    ("xbox", Platform.XBOX),
    ("microsoft", Platform.XBOX),
    ("playstation", Platform.PLAYSTATION),
    ("psn", Platform.PLAYSTATION),
    ("ps4", Platform.PLAYSTATION),
    ("ps5", Platform.PLAYSTATION),
    ("nintendo", Platform.NINTENDO),
    ("switch", Platform.NINTENDO),
    ("ea", Platform.EA),
)


def platform_of(name: str | None) -> Platform:
    """The platform a catalog name stands for; OTHER when none is recognised."""
    words = "".join(c if c.isalnum() else " " for c in (name or "").lower()).split()
    for word, platform in _WORDS:
        if word in words:
            return platform
    return Platform.OTHER
