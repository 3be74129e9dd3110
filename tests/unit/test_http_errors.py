"""A request body JSON can't echo back (NaN, Infinity) still gets a 422 that explains itself, never a 500."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.http import install_error_handlers

pytestmark = pytest.mark.unit


class Silence(BaseModel):
    author: str
    seconds: int


def test_nan_and_infinity_inputs_get_an_explained_422() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/silences")
    async def create(body: Silence) -> dict[str, str]:
        return {"author": body.author}

    client = TestClient(app)
    response = client.post("/silences", content=b'{"author": NaN, "seconds": Infinity}',
                           headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(d["loc"], "input" in d) for d in detail] == [(["body", "author"], False), (["body", "seconds"], False)]
    assert all(d["msg"] for d in detail)
    ok = client.post("/silences", json={"author": 5, "seconds": "x"})
    assert [d["input"] for d in ok.json()["detail"]] == [5, "x"]
