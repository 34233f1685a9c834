"""Schema-driven fuzzing: schemathesis generates requests for every operation of the
OpenAPI description (valid and invalid ones); none may get a 5xx.

Bounded (``CASES_PER_OPERATION``) so the suite stays fast; the number of cases run is
printed (``pytest -s``) and checked. Set ``ONEVOICE_FUZZ_CASES`` for a longer run.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from onevoice.api.app import create_app
from onevoice.bootstrap import bootstrap
from onevoice.config import Settings

CASES_PER_OPERATION = int(os.environ.get("ONEVOICE_FUZZ_CASES", "25"))
CATALOG = {
    "actions": [
        {
            "id": "offer",
            "purpose": "marketing",
            "value": 5,
            "treatments": {"web": {"title": "Hi", "body": "An offer"}},
            "eligibility": "profile.orders >= 0",
        }
    ]
}


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    ov = bootstrap(Settings(database_url=str(tmp_path / "fuzz.db"), secret_key="fuzz"))
    try:
        ov.actions.load(CATALOG)
        ov.collector.collect([{"type": "identify", "userId": "u1", "traits": {"email": "f@x.io"}}])
        ov.processor.run_until_idle()
        _, admin = ov.keys.create("admin", "fuzz admin")
        customer, _expires = ov.me_tokens.mint("userId:u1")
        app = create_app(ov, run_processor=False)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        cases = 0
        failures: list[str] = []
        for result in schema.get_all_operations():
            operation = result.ok()
            token = customer if operation.path.startswith("/v1/me") else admin
            for mode in GenerationMode:  # valid requests, then ones that break the schema
                cases += _fuzz(operation, mode, {"Authorization": f"Bearer {token}"}, failures)
        print(f"\nfuzz: {cases} cases over {len(list(schema.get_all_operations()))} operations")
        assert cases >= CASES_PER_OPERATION * 20
        assert failures == [], "\n".join(failures[:20])
    finally:
        ov.close()


def _fuzz(
    operation: Any, mode: GenerationMode, headers: dict[str, str], failures: list[str]
) -> int:
    """Run the generated cases of one operation; return how many ran."""
    ran = 0

    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        nonlocal ran
        case = data.draw(operation.as_strategy(mode))
        ran += 1
        try:
            response = case.call(headers=headers)
        except Exception as error:  # the test client re-raises what the app did not handle
            failures.append(f"{case.method} {case.formatted_path} raised {error!r}")
            return
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:200]}"
            )

    # nothing to break (e.g. a GET without parameters) leaves no negative case
    with contextlib.suppress(Unsatisfiable):
        run()
    return ran
