"""The bus the control plane sends its events to (cost events for the Ledger), with an archive."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events

from constructs import Construct


class OutpostEventBus(Construct):
    """``bus`` named ``bus_name`` and ``archive``, which keeps every event of this account
    for ``archive_retention_days`` (so events can be replayed) and then lets them expire."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus_name: str,
        archive_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=bus_name, description="Outpost control-plane events (cost events)"
        )
        self.archive = self.bus.archive(
            "Archive",
            description=f"Every event on {bus_name}, kept {archive_retention_days} days for replay",
            event_pattern=events.EventPattern(account=[Stack.of(self).account]),
            retention=Duration.days(archive_retention_days),
        )
