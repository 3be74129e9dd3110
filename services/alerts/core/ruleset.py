"""A rules file: defaults, receivers and rules, validated with errors that name the rule and the field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.alerts.core.durations import Duration
from services.alerts.core.receivers import ALERTS_TOPIC_RECEIVER, ReceiverConfig, ReceiverName
from services.alerts.core.rules import AnyRule, BacklogRule, KpiRule, LabelName, SourceStaleRule, UnitStaleRule

RULE_KINDS: dict[str, type[AnyRule]] = {
    "kpi": KpiRule,
    "backlog": BacklogRule,
    "source_stale": SourceStaleRule,
    "unit_stale": UnitStaleRule,
}
TOP_LEVEL = frozenset({"defaults", "receivers", "rules"})
_RECEIVER = TypeAdapter[ReceiverConfig](ReceiverConfig)


class RulesError(ValueError):
    """A rules file is invalid; `problems` holds one line per error, each naming the rule or receiver and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class RuleDefaults(BaseModel):
    """Values a rule inherits when it does not set them (labels are merged, the rule's win)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    for_: Duration | None = Field(default=None, alias="for")
    repeat_interval: Duration | None = None
    receivers: tuple[ReceiverName, ...] | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """Validated rules and the receivers they route to."""

    rules: tuple[AnyRule, ...]
    receivers: Mapping[str, ReceiverConfig] = field(default_factory=dict)
    by_name: Mapping[str, AnyRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {r.name: r for r in self.rules})  # a derived index of a frozen value

    def __iter__(self) -> Iterator[AnyRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, name: str) -> AnyRule | None:
        """The rule of this name, if any."""
        return self.by_name.get(name)

    def kpi_rules(self) -> list[KpiRule]:
        """The KPI rules."""
        return [r for r in self.rules if isinstance(r, KpiRule)]

    def reads_backlog(self) -> bool:
        """Whether some rule evaluates the live backlog (else the timer does not read it)."""
        return any(isinstance(r, BacklogRule) for r in self.rules)

    def watched(self) -> set[tuple[str, str]]:
        """(kpi, window) pairs some rule evaluates or compares with: snapshots of other scopes are skipped."""
        pairs = {(r.kpi, r.window.value) for r in self.kpi_rules()}
        return pairs | {(r.kpi, r.slip.baseline.value) for r in self.kpi_rules() if r.slip is not None}

    def evaluated(self) -> set[tuple[str, str]]:
        """(kpi, window) pairs a snapshot of which re-evaluates some rule (baselines are only looked up)."""
        return {(r.kpi, r.window.value) for r in self.kpi_rules()}

    def remembered(self) -> set[tuple[str, str]]:
        """(kpi, window) pairs whose readings some rule looks back on (`period`, `falling`)."""
        return {(r.kpi, r.window.value) for r in self.kpi_rules() if r.lookback()}

    def lookback(self) -> timedelta:
        """The longest look back of any rule: how much reading history to keep."""
        return max((r.lookback() for r in self.kpi_rules()), default=timedelta(0))

    def scaled(self, factor: float) -> RuleSet:
        """The same rules with the KPI rules' `for`, `period` and `falling.over` divided by `factor` (a test and
        demo knob, CIVICPULSE_ALERTS_TIME_SCALE: traffic sent faster than real time fills a period sooner).
        Backlog and staleness rules follow the wall clock (due times, event times), so they are left alone, as
        are repeat intervals and receivers' schedules."""
        if factor == 1:
            return self
        return RuleSet(rules=tuple(_scaled(rule, factor) for rule in self.rules), receivers=self.receivers)

    def repeat_interval(self, rule: AnyRule, *, default: timedelta) -> timedelta:
        """How often a still-firing alert of this rule is notified again."""
        return rule.repeat_interval if rule.repeat_interval is not None else default


def _scaled(rule: AnyRule, factor: float) -> AnyRule:
    if not isinstance(rule, KpiRule):
        return rule
    changes: dict[str, Any] = {"for_": rule.for_ / factor}
    if rule.period is not None:
        changes["period"] = rule.period / factor
    if rule.falling is not None:
        changes["falling"] = rule.falling.model_copy(update={"over": rule.falling.over / factor})
    return rule.model_copy(update=changes)


def parse_rules(text: str, *, source: str = "<rules>", receivers_text: str | None = None) -> RuleSet:
    """Validate a rules file (and an optional separate receivers file); raise RulesError listing every problem."""
    document = _mapping(text, source)
    problems = [
        f"{source}: unknown top-level key {k!r}; expected {sorted(TOP_LEVEL)}" for k in document if k not in TOP_LEVEL
    ]
    receiver_items = _list(document, "receivers", source, problems)
    if receivers_text is not None:
        receiver_items += _list(_mapping(receivers_text, "<receivers>"), "receivers", "<receivers>", problems)
    receivers = _receivers(receiver_items, problems)
    try:
        defaults = RuleDefaults.model_validate(document.get("defaults") or {})
    except ValidationError as exc:
        problems.extend(f"defaults: {line}" for line in _lines(exc))
        defaults = RuleDefaults()
    rules = _rules(_list(document, "rules", source, problems), defaults, problems)
    for rule in rules:
        for receiver in rule.receivers:
            if receiver not in receivers:
                problems.append(f"rule {rule.name!r}: field 'receivers': unknown receiver {receiver!r}")
    if problems:
        raise RulesError(problems)
    return RuleSet(rules=tuple(rules), receivers=receivers)


def _mapping(text: str, source: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError([f"{source}: invalid YAML: {exc}"]) from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise RulesError([f"{source}: expected a mapping with {sorted(TOP_LEVEL)}"])
    return document


def _list(document: Mapping[str, Any], key: str, source: str, problems: list[str]) -> list[Any]:
    value = document.get(key) or []
    if not isinstance(value, list):
        problems.append(f"{source}: {key} must be a list")
        return []
    return value


def _receivers(items: list[Any], problems: list[str]) -> dict[str, ReceiverConfig]:
    receivers: dict[str, ReceiverConfig] = {}
    for i, item in enumerate(items):
        label = f"receiver {item.get('name')!r}" if isinstance(item, dict) and item.get("name") else f"receivers[{i}]"
        try:
            receiver = _RECEIVER.validate_python(item)
        except ValidationError as exc:
            problems.extend(f"{label}: {line}" for line in _lines(exc, union_tag=True))
            continue
        if receiver.name == ALERTS_TOPIC_RECEIVER or receiver.name in receivers:
            problems.append(f"{label}: field 'name': {receiver.name!r} is reserved or already used")
            continue
        receivers[receiver.name] = receiver
    return receivers


def _rules(items: list[Any], defaults: RuleDefaults, problems: list[str]) -> list[AnyRule]:
    rules: list[AnyRule] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"rules[{i}]: a rule is a mapping")
            continue
        label = f"rule {item['name']!r}" if item.get("name") else f"rules[{i}]"
        kind = item.get("kind", "kpi")
        model = RULE_KINDS.get(kind)
        if model is None:
            problems.append(f"{label}: field 'kind': unknown kind {kind!r}; one of {', '.join(RULE_KINDS)}")
            continue
        try:
            rule = model.model_validate({"kind": kind, **_with_defaults(item, defaults)})
        except ValidationError as exc:
            problems.extend(f"{label}: {line}" for line in _lines(exc))
            continue
        if rule.name in names:
            problems.append(f"{label}: field 'name': duplicate rule name")
            continue
        names.add(rule.name)
        rules.append(rule)
    return rules


def _with_defaults(item: dict[str, Any], defaults: RuleDefaults) -> dict[str, Any]:
    merged = dict(item)
    if defaults.for_ is not None:
        merged.setdefault("for", defaults.for_)
    if defaults.repeat_interval is not None:
        merged.setdefault("repeat_interval", defaults.repeat_interval)
    if defaults.receivers is not None:
        merged.setdefault("receivers", list(defaults.receivers))
    if defaults.labels:
        merged["labels"] = {**defaults.labels, **(item.get("labels") or {})}
    return merged


def _lines(exc: ValidationError, *, union_tag: bool = False) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = error["loc"][1:] if union_tag and error["loc"] else error["loc"]
        where = ".".join(str(part) for part in loc)
        lines.append(f"field {where!r}: {error['msg']}" if where else error["msg"])
    return lines


def missing_secrets(ruleset: RuleSet, environ: Mapping[str, str]) -> list[str]:
    """One problem per receiver secret whose environment variable is unset or empty."""
    return [
        f"receiver {name!r}: field {field_name!r}: environment variable {env} is not set"
        for name, receiver in ruleset.receivers.items()
        for field_name, env in receiver.secret_envs().items()
        if not environ.get(env)
    ]
