"""Resident ID numbers (GB 11643-1999): parsing, validation, masking.

Validation is stdnum.cn.ric's; this module turns its exceptions into the specific
problems a person can act on, and derives what the ID itself states.
"""
from dataclasses import dataclass
from datetime import date
from enum import Enum

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric


class IdProblem(Enum):
    """Why an ID number was refused, each with its own message in the form."""

    EMPTY = "empty"
    FORMAT = "format"  # wrong length or characters
    CHECKSUM = "checksum"
    BIRTH_DATE = "birth_date"
    REGION = "region"


@dataclass(frozen=True)
class ResidentId:
    number: str

    @property
    def region_code(self) -> str:
        return self.number[:6]

    @property
    def birth_date(self) -> date:
        return ric.get_birth_date(self.number)

    @property
    def sex(self) -> str:
        """'M' or 'F': the sequence code is odd for men and even for women."""
        return "M" if int(self.number[16]) % 2 else "F"


def normalise(raw: str | None) -> str:
    """Drop spaces and hyphens people type, and upper-case a final x."""
    return "".join((raw or "").split()).replace("-", "").upper()


def parse(raw: str | None) -> ResidentId | IdProblem:
    """Validate an ID number as typed; return it or the reason it is not valid."""
    number = normalise(raw)
    if not number:
        return IdProblem.EMPTY
    if len(number) != 18 or not number[:17].isdigit() or not (
        number[17].isdigit() or number[17] == "X"
    ):
        return IdProblem.FORMAT
    try:
        ric.validate(number)
    except stdnum_errors.InvalidChecksum:
        return IdProblem.CHECKSUM
    except stdnum_errors.InvalidComponent:
        try:
            ric.get_birth_date(number)
        except stdnum_errors.InvalidComponent:
            return IdProblem.BIRTH_DATE
        return IdProblem.REGION
    except stdnum_errors.ValidationError:
        return IdProblem.FORMAT
    return ResidentId(number)


def with_check_digit(first17: str) -> str:
    """Complete a 17-digit prefix with its ISO 7064 MOD 11-2 check character."""
    return first17 + ric.calc_check_digit(first17 + "0")


def mask_name(name: str) -> str:
    """Mask a name for verifiers: 张*明, two-character names 李*."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id(number: str) -> str:
    """Keep the first and last four characters: 3101**********123X."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits of a mobile number: 138****1234."""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
