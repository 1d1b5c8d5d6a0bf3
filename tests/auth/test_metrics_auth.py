"""GET /metrics with trusted issuers: protected like discovery, and open to one scrape token."""

from __future__ import annotations

import pytest

from tests.auth.conftest import BASE, bearer
from tests.test_metrics import value

SCRAPE_TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def secured_with_scrape_token(make_secured):
    return make_secured(metrics_token=SCRAPE_TOKEN).test_client()


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789abcdef", f"Basic {SCRAPE_TOKEN}",
                                           f"Bearer {SCRAPE_TOKEN}x", "Bearer "])
def test_with_issuers_metrics_refuses_a_missing_or_wrong_token_with_a_bare_401(secured_with_scrape_token,
                                                                              authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = secured_with_scrape_token.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
    scraped = secured_with_scrape_token.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert value(scraped.get_data(as_text=True), "withdrawal_cds_http_errors_total", status="401",
                 error="unauthorized") == 1


def test_with_issuers_metrics_takes_the_scrape_token_again_and_again(secured_with_scrape_token):
    for _ in range(3):  # a scraper sends the same token every time: it is not a single-use JWT
        response = secured_with_scrape_token.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
        assert response.status_code == 200
    assert value(response.get_data(as_text=True), "withdrawal_cds_http_errors_total", status="401") == 0


def test_with_issuers_and_no_scrape_token_metrics_takes_the_ehrs_jwt_like_discovery(secured, ehr):
    client = secured.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(ehr.token(f"{BASE}/metrics"))).status_code == 200


def test_the_scrape_token_is_read_from_the_environment_only(tmp_path):
    from cds_service.config import ConfigError, load_settings

    config = tmp_path / "service.toml"
    config.write_text(f'metrics_token = "{SCRAPE_TOKEN}"\n')
    with pytest.raises(ConfigError, match="WITHDRAWAL_CDS_METRICS_TOKEN"):
        load_settings(config, environ={})
    settings = load_settings(environ={"WITHDRAWAL_CDS_METRICS_TOKEN": SCRAPE_TOKEN})
    assert settings.metrics_token == SCRAPE_TOKEN


