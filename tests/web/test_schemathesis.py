"""Property tests against the OpenAPI schema: no request makes the API answer 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from web_helpers import World

from lianxing.web.app import create_app

pytestmark = pytest.mark.parametrize("workspace_settings", ["sqlite"], indirect=True)


def test_no_server_errors_for_schema_generated_requests(world: World) -> None:
    app = create_app(workspace=world.ws)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {world.tokens['owner_a']}"}
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for operation in schema.get_all_operations():
        op = operation.ok()
        operations += 1

        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=op.as_strategy())
        def check(case: schemathesis.Case) -> None:  # called in this iteration: op is bound
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.path}: {response.status_code}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except AssertionError as exc:
            failures.append(f"{op.method.upper()} {op.path}: {str(exc).splitlines()[0]}")
        except Exception as exc:  # schemathesis reports failed checks as its own errors
            failures.append(f"{op.method.upper()} {op.path}: {type(exc).__name__}: {exc}"[:300])
    assert failures == []
    assert operations >= 20 and len(statuses) >= 5 * operations  # it really ran
    assert any(200 <= s < 300 for s in statuses)  # and got past validation sometimes
