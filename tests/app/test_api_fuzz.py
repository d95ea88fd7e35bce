"""The public API fuzzed from its own description: schemathesis reads /api/v1/openapi.json
from the app (its WSGI app, no network), sends requests built from it, valid and
invalid, and checks every answer against it: no 500, no status, content type, header or
body the description does not allow, and invalid requests refused."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

# Bounded and repeatable, so `make test` stays fast and a failure reproduces.
FUZZ_SETTINGS = settings(max_examples=100, derandomize=True, database=None, deadline=None,
                         suppress_health_check=list(HealthCheck))


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return {operation.path: operation
            for operation in (result.ok() for result in schema.get_all_operations())}


def _fuzz(operation, mode):
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        case.call_and_validate()

    check()


def test_the_description_covers_the_public_api(app):
    assert set(_operations(app)) == {"/api/v1/verify/{token}", "/audit/checkpoints",
                                     "/audit/public-key"}


@pytest.mark.parametrize("path", ["/api/v1/verify/{token}", "/audit/checkpoints",
                                  "/audit/public-key"])
def test_valid_requests_get_described_answers(app, path):
    _fuzz(_operations(app)[path], GenerationMode.POSITIVE)


# The token is described as any text (anything not genuine is not_valid), so that
# operation has no invalid request to send.
@pytest.mark.parametrize("path", ["/audit/checkpoints", "/audit/public-key"])
def test_invalid_requests_are_refused_as_described(app, path):
    _fuzz(_operations(app)[path], GenerationMode.NEGATIVE)


def test_a_token_with_a_line_break_or_a_leading_slash_gets_a_verdict(client):
    # Found by the fuzzer: such tokens missed the route and got an HTML 404 page.
    for token in ("%3C%0A%7C", "a%0Db", "/x", "%2Fx", "a//b"):
        response = client.get(f"/api/v1/verify/{token}")
        assert response.status_code == 200, token
        assert response.get_json()["verdict"] == "not_valid", token
