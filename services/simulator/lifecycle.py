"""What happens to one dossier between its reception and its completion: pauses, payment, and how it ends.

A dossier's plan is drawn when it is received; the world then plays its steps one at a time, oldest dossiers
first. A pause sends the dossier to the back of the line (it waits for the applicant), so pauses last about as
long as processing does, whatever the event rate.
"""

from __future__ import annotations

import random
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from services.simulator.profile import Profile
from shared.events import Outcome, PauseReason, PaymentChannel

OUTCOMES = {Outcome.APPROVED: 92, Outcome.REJECTED: 5, Outcome.WITHDRAWN: 2, Outcome.STOPPED: 1}
"""How dossiers end, in percent."""
ENDED_WHILE_PAUSED = 0.5
"""Share of withdrawn or stopped dossiers that end during a supplement request the applicant never answered."""
PORTAL_SHARE_OF_ONLINE = 0.9
"""Of online payments, the share made on the national portal (the rest through a local gateway)."""
FEES_VND = (10_000, 20_000, 30_000, 50_000, 100_000, 200_000, 500_000)
AMOUNT_KNOWN = 0.9
"""Share of payment records that carry the amount."""
REUSED_OF_DIGITIZED = 0.3
FROM_PERSONAL_STORE = 0.2
POPULATION_DATA_ONLINE = 0.7
"""Online applicants checked against the population database / VNeID (in person: the clerk checks fewer)."""
POPULATION_DATA_IN_PERSON = 0.3


def fee_bearing(procedure_code: str, *, share: float) -> bool:
    """Whether a procedure carries a fee: a property of the procedure, the same in every run and seed."""
    return zlib.crc32(procedure_code.encode()) % 1000 < share * 1000


@dataclass(frozen=True, slots=True)
class Step:
    """One later event of a dossier: a pause, a resumption, a payment, or the completion (always last)."""

    kind: Literal["paused", "resumed", "paid", "completed"]
    reason: PauseReason | None = None
    channel: PaymentChannel | None = None
    amount_vnd: int | None = None
    outcome: Outcome | None = None


@dataclass(slots=True)
class OpenDossier:
    """A received dossier and the steps it has left."""

    dossier_id: str
    unit_code: str
    procedure_code: str
    channel: str
    received_at: datetime
    due_at: datetime | None
    steps: deque[Step] = field(default_factory=deque)


def plan(rng: random.Random, *, profile: Profile, fee_bearing: bool) -> deque[Step]:
    """The steps of a dossier after its reception, ending with its completion."""
    outcome = rng.choices(list(OUTCOMES), list(OUTCOMES.values()))[0]
    steps: deque[Step] = deque()
    settled = outcome in (Outcome.APPROVED, Outcome.REJECTED)
    if fee_bearing and settled and rng.random() >= profile.financial_obligation:
        steps.append(_payment(rng, profile))  # paid with the application
    if rng.random() < profile.supplement:
        for _ in range(2 if rng.random() < profile.second_supplement else 1):
            steps.extend((Step("paused", reason=PauseReason.SUPPLEMENT), Step("resumed")))
    if fee_bearing and settled and not any(s.kind == "paid" for s in steps):
        # Assessed first, then the applicant is asked to pay: the clock stops until the payment comes in.
        steps.extend((Step("paused", reason=PauseReason.FINANCIAL_OBLIGATION), _payment(rng, profile), Step("resumed")))
    if not settled and rng.random() < ENDED_WHILE_PAUSED:
        steps.append(Step("paused", reason=PauseReason.SUPPLEMENT))
    steps.append(Step("completed", outcome=outcome))
    return steps


def _payment(rng: random.Random, profile: Profile) -> Step:
    channel = PaymentChannel.DIRECT
    if rng.random() < profile.paid_online:
        portal = rng.random() < PORTAL_SHARE_OF_ONLINE
        channel = PaymentChannel.NATIONAL_PORTAL if portal else PaymentChannel.LOCAL_GATEWAY
    amount = rng.choice(FEES_VND) if rng.random() < AMOUNT_KNOWN else None
    return Step("paid", channel=channel, amount_vnd=amount)


def reception_facts(rng: random.Random, *, online: bool, digitized: bool, fee_bearing: bool) -> dict[str, bool]:
    """The optional facts of `dossier.received` the 766 index uses."""
    population = POPULATION_DATA_ONLINE if online else POPULATION_DATA_IN_PERSON
    return {
        "fee_bearing": fee_bearing,
        "reused_data": digitized and rng.random() < REUSED_OF_DIGITIZED,
        "from_personal_store": online and rng.random() < FROM_PERSONAL_STORE,
        "population_data": rng.random() < population,
    }
