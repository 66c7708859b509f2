"""The AWS commercial regions and the letters of their availability zones, pinned.

Synth runs offline, so it cannot ask EC2 which zones exist (``describe-availability-zones``);
this table can. A zone's code is its region's code followed by a letter ("AWS Availability
Zones": https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html).
In the oldest regions the letters are mapped to physical zones per account ("AZ IDs":
https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html), so an account
sees only some of the letters listed here (us-west-1 shows two of a/b/c, ap-northeast-1 three
of a-d): the table holds every letter some account can see, so a zone it accepts may still be
missing from yours; ``aws ec2 describe-availability-zones --region <region>`` says which. It
refuses what no account has (``us-east-1z``, ``xx-fake-1``). Regions of other partitions
(China, GovCloud, the European Sovereign Cloud) are not deployed by this project.

The newest region here is ap-southeast-6 (New Zealand, September 2025, from the pages'
document history). A region launched later: add it with its letters.
"""

from __future__ import annotations

_ABC = "abc"

ZONE_LETTERS: dict[str, str] = {
    # North America
    "us-east-1": "abcdef",
    "us-east-2": _ABC,
    "us-west-1": _ABC,
    "us-west-2": "abcd",
    "ca-central-1": "abcd",
    "ca-west-1": _ABC,
    "mx-central-1": _ABC,
    # South America
    "sa-east-1": _ABC,
    # Europe
    "eu-central-1": _ABC,
    "eu-central-2": _ABC,
    "eu-west-1": _ABC,
    "eu-west-2": _ABC,
    "eu-west-3": _ABC,
    "eu-south-1": _ABC,
    "eu-south-2": _ABC,
    "eu-north-1": _ABC,
    # Middle East, Israel, Africa
    "me-south-1": _ABC,
    "me-central-1": _ABC,
    "il-central-1": _ABC,
    "af-south-1": _ABC,
    # Asia Pacific
    "ap-east-1": _ABC,
    "ap-east-2": _ABC,
    "ap-south-1": _ABC,
    "ap-south-2": _ABC,
    "ap-northeast-1": "abcd",
    "ap-northeast-2": "abcd",
    "ap-northeast-3": _ABC,
    "ap-southeast-1": _ABC,
    "ap-southeast-2": _ABC,
    "ap-southeast-3": _ABC,
    "ap-southeast-4": _ABC,
    "ap-southeast-5": _ABC,
    "ap-southeast-6": _ABC,
    "ap-southeast-7": _ABC,
}

REGIONS: tuple[str, ...] = tuple(ZONE_LETTERS)


def zones_of(region: str) -> tuple[str, ...]:
    """``us-east-2a``, ``us-east-2b``, ``us-east-2c``: every zone code of ``region``."""
    return tuple(f"{region}{letter}" for letter in ZONE_LETTERS[region])


def zones_in_words(region: str) -> str:
    """``us-east-2a, us-east-2b or us-east-2c``."""
    zones = zones_of(region)
    return f"{', '.join(zones[:-1])} or {zones[-1]}"
