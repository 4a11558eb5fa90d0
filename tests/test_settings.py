"""Settings precedence and deployment discovery."""
import pytest

from canary.settings import Settings, SettingsError, find_home, parse_listen


def test_precedence_defaults_file_environment_overrides(home):
    settings = Settings.load(home, environ={})
    assert settings["dns"]["listen"] == "127.0.0.1:5353"
    (home / "canary.toml").write_text((home / "canary.toml").read_text() + '\n[dns]\nlisten = "127.0.0.1:6000"\n')
    assert Settings.load(home, environ={})["dns"]["listen"] == "127.0.0.1:6000"
    environ = {"CANARY_DNS_LISTEN": "127.0.0.1:7000", "CANARY_ATTRIBUTION_P": "0.05"}
    settings = Settings.load(home, environ=environ)
    assert settings["dns"]["listen"] == "127.0.0.1:7000" and settings["attribution"]["p"] == 0.05
    settings = Settings.load(home, environ=environ, overrides={"dns": {"listen": "127.0.0.1:8000"}})
    assert settings["dns"]["listen"] == "127.0.0.1:8000"


def test_home_from_environment_then_current_directory(home, tmp_path, monkeypatch):
    monkeypatch.setenv("CANARY_HOME", str(home))
    assert find_home() == home.resolve()
    monkeypatch.delenv("CANARY_HOME")
    monkeypatch.chdir(home)
    assert find_home() == home.resolve()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="no deployment in"):
        find_home()


def test_new_settings_hold_secrets_and_are_private(home):
    settings = Settings.load(home, environ={})
    assert len(settings.secret) >= 40 and settings["webhooks"]["hmac_secret"]
    assert (home / "canary.toml").stat().st_mode & 0o077 == 0


def test_corrupt_settings_name_the_file(home):
    (home / "canary.toml").write_text("zones = [unterminated")
    with pytest.raises(SettingsError, match="canary.toml"):
        Settings.load(home, environ={})


@pytest.mark.parametrize("text, expected", [("127.0.0.1:53", ("127.0.0.1", 53)), ("[::1]:8080", ("::1", 8080))])
def test_parse_listen(text, expected):
    assert parse_listen(text) == expected


def test_parse_listen_refuses_garbage():
    with pytest.raises(SettingsError):
        parse_listen("localhost")
