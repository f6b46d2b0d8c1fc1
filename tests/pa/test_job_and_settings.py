"""The PA job as the product runs it, and the PA settings."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.jobs import all_jobs, run_job
from bot.settings import Settings, SettingsError, load_settings
from storage.models import PaSubmission
from tests.pa.fake_pa import CLIENT_ID, CLIENT_SECRET, FakePA
from tests.pa.test_sending import issue_won_deal


def with_pa(settings: Settings, fake: FakePA) -> Settings:
    return settings.model_copy(
        update={
            "pa_flow_url": fake.url,
            "pa_token_url": f"{fake.url}/token",
            "pa_client_id": CLIENT_ID,
            "pa_client_secret": SecretStr(CLIENT_SECRET),
        }
    )


async def test_the_pa_job_submits_and_keeps_its_token_across_runs(
    db: str, settings: Settings, fake_pa: FakePA
) -> None:
    from bot.__main__ import bootstrap

    services = bootstrap(with_pa(settings, fake_pa))
    await issue_won_deal()
    job = all_jobs()["pa"]
    assert (await run_job(job, services, None)).startswith("submitted 1,")
    # once per period across instances: a second instance (or a second tick) in the same
    # period does nothing; a run by hand goes, with the token kept.
    other = bootstrap(with_pa(settings, fake_pa))
    assert await run_job(job, other, None) == "skipped: another instance has this period's run"
    assert (await run_job(job, services, None, force=True)).startswith("submitted 0,")
    assert fake_pa.token_requests == 1 and len(fake_pa.received) == 1
    assert services.extra is not None
    await services.extra["pa_client"].aclose()
    assert await PaSubmission.filter(state="done").count() == 1


async def test_without_a_pa_the_job_says_so(db: str, settings: Settings) -> None:
    from bot.__main__ import bootstrap

    assert await run_job(all_jobs()["pa"], bootstrap(settings), None) == (
        "no PA configured: invoices are emailed"
    )


def test_pa_settings_hide_the_secret_and_need_their_credentials() -> None:
    good = load_settings(
        _env_file=None,
        pa_flow_url="https://pa.example/flow-service",
        pa_token_url="https://pa.example/token",
        pa_client_id="me",
        pa_client_secret="hunter2-very-secret",
    )
    assert good.pa_enabled and "hunter2" not in repr(good) and "hunter2" not in str(good)
    with pytest.raises(SettingsError, match="PA_CLIENT_SECRET is required"):
        load_settings(
            _env_file=None,
            pa_flow_url="https://pa.example",
            pa_token_url="https://pa.example/token",
            pa_client_id="me",
        )
    with pytest.raises(SettingsError, match="https://"):
        load_settings(
            _env_file=None,
            pa_flow_url="http://pa.example",
            pa_token_url="https://pa.example/token",
            pa_client_id="me",
            pa_client_secret="x",
        )
    assert not load_settings(_env_file=None).pa_enabled


def test_the_client_config_hides_the_secret_too() -> None:
    from mail.pa.client import PaConfig

    config = PaConfig(
        flow_url="https://x", token_url="https://x/t", client_id="me", client_secret="hunter2-very-secret"
    )
    assert "hunter2" not in repr(config)
