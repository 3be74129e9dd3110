"""The canonical CivicPulse events (DOMAIN.md): one pydantic model per `type`, a union discriminated on it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, TypeAlias
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
"""What a unit, procedure, dossier or source code may look like (query parameters use it too)."""
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE_PATTERN)]
Score = Annotated[int, Field(ge=1, le=5, strict=True)]
SATISFIED_FROM = 4
"""Scores at or above this count as satisfied (the CSAT convention)."""


class Channel(StrEnum):
    """How a dossier was submitted or its result returned."""

    ONLINE = "online"
    IN_PERSON = "in_person"
    POSTAL = "postal"


class ServiceLevel(StrEnum):
    """How much of a procedure can be done online."""

    PARTIAL_ONLINE = "partial_online"
    FULL_ONLINE = "full_online"
    OFFLINE = "offline"


class Outcome(StrEnum):
    """How a dossier ended."""

    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    """Processing stopped by the authority (national-portal status 8), neither approved nor refused."""


class PauseReason(StrEnum):
    """Why a dossier's processing clock stopped."""

    SUPPLEMENT = "supplement"
    """Papers were requested from the applicant."""
    FINANCIAL_OBLIGATION = "financial_obligation"
    """The applicant must pay first."""


class PaymentChannel(StrEnum):
    """Where a dossier's fee was paid."""

    NATIONAL_PORTAL = "national_portal"
    LOCAL_GATEWAY = "local_gateway"
    """A ministry's or the province's own payment gateway."""
    DIRECT = "direct"


class _Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    event_id: UUID = Field(description="Idempotency key: the same event sent twice is counted once.")
    occurred_at: AwareDatetime = Field(description="Event time, timezone-aware ISO 8601.")
    source: Code = Field(description="The emitting system; must match the caller's credentials.")
    unit_code: Code = Field(description="The unit that handled the dossier or feedback.")
    schema_version: Literal[1, 2] = Field(
        default=2, description="Version of this contract; changes are additive, so version 1 events stay valid."
    )

    @property
    def key(self) -> str:
        """The Kafka key: dossier, feedback or procedure id, so one entity's events stay in order."""
        raise NotImplementedError


class DossierReceived(_Event):
    """A dossier was received by a unit."""

    type: Literal["dossier.received"]
    dossier_id: Code
    procedure_code: Code
    channel: Channel
    service_level: ServiceLevel
    essential: bool = Field(description="One of Project 06's 25 essential services.")
    digitized: bool = Field(description="Its component papers were digitized.")
    due_at: AwareDatetime | None = None
    # Optional facts the Decision 766 index uses; None when the sender does not say.
    fee_bearing: bool | None = Field(default=None, description="The procedure carries a fee or charge.")
    reused_data: bool | None = Field(default=None, description="A digitized paper was reused instead of re-submitted.")
    from_personal_store: bool | None = Field(default=None, description="Papers taken from the citizen's data store.")
    population_data: bool | None = Field(
        default=None, description="The applicant was checked against the population database / VNeID."
    )

    @property
    def key(self) -> str:
        return self.dossier_id


class DossierPaused(_Event):
    """The processing clock of a dossier stopped (papers requested, or payment due first)."""

    type: Literal["dossier.paused"]
    dossier_id: Code
    procedure_code: Code
    reason: PauseReason

    @property
    def key(self) -> str:
        return self.dossier_id


class DossierResumed(_Event):
    """The processing clock of a paused dossier runs again."""

    type: Literal["dossier.resumed"]
    dossier_id: Code
    procedure_code: Code

    @property
    def key(self) -> str:
        return self.dossier_id


class DossierPaid(_Event):
    """The applicant paid a dossier's fee or charge."""

    type: Literal["dossier.paid"]
    dossier_id: Code
    procedure_code: Code
    channel: PaymentChannel
    amount_vnd: int | None = Field(default=None, ge=0, description="Amount paid, in đồng.")

    @property
    def key(self) -> str:
        return self.dossier_id


class DossierCompleted(_Event):
    """A dossier was settled; `occurred_at` is the completion time."""

    type: Literal["dossier.completed"]
    dossier_id: Code
    procedure_code: Code
    outcome: Outcome
    result_channel: Channel
    electronic_result: bool
    due_at: AwareDatetime | None = None

    @property
    def key(self) -> str:
        return self.dossier_id

    @property
    def completed_at(self) -> datetime:
        """Completion time, which is the event time."""
        return self.occurred_at


class DossierRated(_Event):
    """A citizen rated the handling of a dossier."""

    type: Literal["dossier.rated"]
    dossier_id: Code
    procedure_code: Code
    score: Score

    @property
    def key(self) -> str:
        return self.dossier_id


class FeedbackClosed(_Event):
    """A piece of feedback (phản ánh kiến nghị) was closed."""

    type: Literal["feedback.closed"]
    feedback_id: Code
    on_time: bool
    score: Score | None = None

    @property
    def key(self) -> str:
        return self.feedback_id


class ProcedurePublished(_Event):
    """A unit offers a procedure at a service level: the catalogue as events."""

    type: Literal["procedure.published"]
    procedure_code: Code
    service_level: ServiceLevel

    @property
    def key(self) -> str:
        return f"{self.unit_code}/{self.procedure_code}"


Event: TypeAlias = Annotated[
    DossierReceived
    | DossierPaused
    | DossierResumed
    | DossierPaid
    | DossierCompleted
    | DossierRated
    | FeedbackClosed
    | ProcedurePublished,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = (
    "dossier.received",
    "dossier.paused",
    "dossier.resumed",
    "dossier.paid",
    "dossier.completed",
    "dossier.rated",
    "feedback.closed",
    "procedure.published",
)

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
event_list_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def parse_event(raw: bytes | str) -> Event:
    """Validate one JSON-encoded event."""
    return event_adapter.validate_json(raw)


def dump_event(event: Event) -> bytes:
    """Serialise an event to the JSON stored on the topic."""
    return event_adapter.dump_json(event)


def event_json_schema() -> dict[str, object]:
    """JSON Schema of the canonical event, as committed in `shared/schema/events.schema.json`."""
    schema = event_adapter.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "CivicPulse canonical event"
    return schema
