"""Receivers: how a notification from the outbox reaches each kind of destination."""
