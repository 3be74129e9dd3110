"""The committed AsyncAPI documents are what each service's composition root generates today (`make lint` too)."""

from __future__ import annotations

import pytest
import yaml

from services.cli.admin import ASYNCAPI_DIR, ASYNCAPI_FACTORIES, asyncapi_yaml

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("service", list(ASYNCAPI_FACTORIES))
def test_committed_asyncapi_document_is_up_to_date(service: str) -> None:
    committed = yaml.safe_load((ASYNCAPI_DIR / f"{service}.yaml").read_text("utf-8"))
    # Compared as data: FastStream keeps publishers in a WeakSet, so channel order varies from run to run.
    assert yaml.safe_load(asyncapi_yaml(service)) == committed, "regenerate it: civicpulse docs asyncapi"
