import pytest

from settlement.foundation.config import Settings, SettingsError


def test_a_local_start_defaults_to_sandbox_on_a_sqlite_file_in_the_working_folder(
    monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    for name in ("SHUXIN_DATABASE_URL", "SHUXIN_MODE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.mode == "sandbox"
    assert settings.database_url == f"sqlite:///{tmp_path / 'shuxin.db'}"
    settings.check_can_start()


def test_production_with_default_secrets_refuses_to_start_and_names_each_setting():
    settings = Settings(mode="production", database_url="sqlite:///x.db")
    with pytest.raises(SettingsError) as refused:
        settings.check_can_start()
    for name in ("SHUXIN_ADMIN_TOKEN", "SHUXIN_SECRET_KEY", "SHUXIN_WALLET_SECRET"):
        assert name in str(refused.value)


def test_production_with_an_empty_secret_refuses_to_start():
    settings = Settings(
        mode="production",
        admin_token="",
        secret_key="k" * 32,
        wallet_secret="w" * 32,
    )
    with pytest.raises(SettingsError, match="SHUXIN_ADMIN_TOKEN"):
        settings.check_can_start()


def test_production_with_real_secrets_starts():
    Settings(
        mode="production", admin_token="a" * 32, secret_key="k" * 32, wallet_secret="w" * 32
    ).check_can_start()


def test_the_environment_sets_the_mode(monkeypatch):
    monkeypatch.setenv("SHUXIN_MODE", "production")
    assert Settings().mode == "production"
    monkeypatch.setenv("SHUXIN_MODE", "staging")
    with pytest.raises(ValueError, match="mode"):
        Settings()
