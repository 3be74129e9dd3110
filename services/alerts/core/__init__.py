"""Pure alerting logic: rules, the alert state machine, templates, silences, notifications. No I/O."""
