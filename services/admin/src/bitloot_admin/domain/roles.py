"""What each admin role may do: a viewer reads everything, an operator also repairs
(replays, resends, notices, retries, fresh links, flag decisions), an owner also manages
admin accounts, approves refunds and enters keys by hand. Each role can do all that the
roles below it can."""

from enum import IntEnum


class Role(IntEnum):
    """An admin's role; a higher one includes every lower one."""

    VIEWER = 1
    OPERATOR = 2
    OWNER = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> "Role":
        """The role called `name` (``viewer``, ``operator``, ``owner``)."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise UnknownRole(name) from None

    def may(self, required: "Role") -> bool:
        return self >= required


class UnknownRole(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Role {name[:32]!r} is not one of viewer, operator, owner.")


def requires_totp(role: Role) -> bool:
    """Owners must log in with a second factor; the other roles may."""
    return role is Role.OWNER
