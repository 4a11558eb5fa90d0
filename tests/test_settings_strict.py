"""Strict settings: a typo in canary.toml or a CANARY_* variable is refused, naming the closest valid name."""
from __future__ import annotations

import pytest

from canary.settings import DEFAULTS, HELP, Settings, SettingsError


def append(home, text: str) -> None:
    path = home / "canary.toml"
    path.write_text(path.read_text() + "\n" + text + "\n")


def replace(home, old: str, new: str) -> None:
    path = home / "canary.toml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))


def test_a_misspelt_key_is_refused_with_the_closest_one(home):
    append(home, '[alerts]\nwebhok_url = "https://soc.example.org/hook"')
    with pytest.raises(SettingsError, match=r"canary.toml: unknown key 'webhok_url' in \[alerts\] "
                                            r"\(did you mean webhook_url\?\)"):
        Settings.load(home, environ={})


def test_a_misspelt_section_is_refused_with_the_closest_one(home):
    append(home, '[dnss]\nlisten = "127.0.0.1:53"')
    with pytest.raises(SettingsError, match=r"unknown section \[dnss\] \(did you mean \[dns\]\?\)"):
        Settings.load(home, environ={})


def test_a_misspelt_environment_variable_is_refused_with_the_closest_one(home):
    with pytest.raises(SettingsError, match=r"environment variable CANARY_DNS_LISTN is not a setting "
                                            r"\(did you mean CANARY_DNS_LISTEN\?\)"):
        Settings.load(home, environ={"CANARY_DNS_LISTN": "127.0.0.1:53"})


def test_variables_that_are_not_settings_are_left_alone(home):
    environ = {"CANARY_HOME": str(home), "CANARY_DEBUG": "1", "CANARY_TEST_POSTGRES_DSN": "postgresql:///x",
               "CANARY_ADMIN_PASSWORD": "x", "CANARY_DNS_LISTEN": "127.0.0.1:5400"}
    assert Settings.load(home, environ=environ)["dns"]["listen"] == "127.0.0.1:5400"


@pytest.mark.parametrize("line, message", [
    ("[dns]\nttl = \"300\"", r"\[dns\] ttl: expected a number, got '300'"),
    ("[dns]\nrrl_slip = true", r"\[dns\] rrl_slip: expected a number, got True"),   # [smtp] is in every new canary.toml (STARTTLS pair)
    ("[alerts]\nsmtp_starttls = \"yes\"", r"\[alerts\] smtp_starttls: expected true or false"),
    ("[dns]\naddresses = \"127.0.0.1\"", r"\[dns\] addresses: expected a list"),
])
def test_a_value_of_the_wrong_type_is_refused(home, line, message):
    append(home, line)
    with pytest.raises(SettingsError, match=message):
        Settings.load(home, environ={})


def test_a_value_where_a_section_belongs_is_refused(home):
    path = home / "canary.toml"
    path.write_text("dns = 5\n" + path.read_text())
    with pytest.raises(SettingsError, match=r"dns must be a section \(\[dns\]\), not a value"):
        Settings.load(home, environ={})


def test_an_integer_is_a_valid_number_and_a_string_variable_stays_a_string(home):
    append(home, "[attribution]\np = 0")
    settings = Settings.load(home, environ={"CANARY_DEPLOYMENT_NAME": "2026"})
    assert settings["attribution"]["p"] == 0 and settings["deployment"]["name"] == "2026"


def test_every_setting_has_help_and_no_help_is_left_over():
    assert {(s, k) for s in DEFAULTS for k in DEFAULTS[s]} == {(s, k) for s in HELP for k in HELP[s]}
    assert all(text.strip() for section in HELP.values() for text in section.values())


def test_alerts_test_refuses_a_misspelt_webhook_instead_of_saying_sent(home, invoke):
    append(home, '[alerts]\njsonl_path = "alerts.jsonl"\nwebhok_url = "https://soc.example.org/hook"')
    output = invoke("alerts", "test", expect_exit=1).output
    assert "did you mean webhook_url?" in output and "sent" not in output
    assert not (home / "alerts.jsonl").exists()


def test_alerts_test_names_the_channels_that_are_not_configured(home, invoke):
    append(home, '[alerts]\njsonl_path = "alerts.jsonl"')
    output = invoke("alerts", "test").output
    assert "jsonl: sent" in output
    assert "webhook: not configured" in output and "slack: not configured" in output


def test_config_check_passes_a_good_deployment(home, invoke):
    output = invoke("config", "check").output
    assert "canary.toml: OK" in output and "dns: 127.0.0.1:5353" in output


@pytest.mark.parametrize("line, problem", [
    ('[dns]\nlisten = "localhost"', "[dns] listen: bad listen address 'localhost'"),
    ('[alerts]\nemail_to = "soc@example.org"', "[alerts] email alerts need alerts.email_from, alerts.smtp_relay"),
    ('[alerts]\nwebhook_url = "soc.example.org"', "[alerts] alerts.webhook_url must be an http:// or https:// URL"),
])
def test_config_check_names_each_problem_and_fails(home, invoke, line, problem):
    append(home, line)
    result = invoke("config", "check", expect_exit=1)
    assert problem in result.output and "1 problem(s)" in result.output


def test_config_check_names_a_missing_phone_pool(home, invoke):
    replace(home, 'phone_pool = ""', 'phone_pool = "pool.txt"')
    assert "[deployment] phone_pool: no such file" in invoke("config", "check", expect_exit=1).output


def test_config_check_refuses_a_typo_in_one_line(home, invoke):
    append(home, '[dnss]\nlisten = "127.0.0.1:53"')
    result = invoke("config", "check", expect_exit=1)
    assert result.output.strip().endswith("unknown section [dnss] (did you mean [dns]?)")
    assert "Traceback" not in result.output
