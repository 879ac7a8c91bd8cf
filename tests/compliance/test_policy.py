from datetime import time, timedelta
from pathlib import Path

import pytest

from compliance.policy import BUNDLED, POLICY_DIR, Window, load_policy, parse_policy
from crm.buckets import Bucket
from duecall.context import AppContext
from duecall.errors import ConfigurationError
from duecall.settings import Settings

RBI_TEXT = (POLICY_DIR / "rbi.toml").read_text()


def test_bundled_policies_carry_spec_defaults() -> None:
    assert BUNDLED == ("rbi", "us-regf")
    rbi = load_policy("rbi")
    assert (rbi.window_current, rbi.window_overdue) == (
        Window(time(7), time(19)),
        Window(time(8), time(19)),
    )
    assert (rbi.callback_current, rbi.callback_overdue) == (
        Window(time(7), time(21)),
        Window(time(8), time(19)),
    )
    assert rbi.callback_tolerance == timedelta(minutes=15)
    assert rbi.callback_exempt == {"min_gap", "daily_conversations"}
    assert (rbi.daily_attempts, rbi.daily_conversations, rbi.min_gap) == (3, 1, timedelta(hours=1))
    assert (rbi.rolling_attempts, rbi.rolling_window) == (10, timedelta(hours=168))
    assert rbi.bereavement_days == 30 and rbi.promise_grace_days == 2
    assert rbi.promise_horizon(Bucket.SMA_0) == 30 and rbi.promise_horizon(Bucket.NPA) == 10
    assert rbi.blocking_flags == {
        "dnc",
        "dispute",
        "deceased",
        "fraud",
        "legal_hold",
        "non_workable",
    }
    regf = load_policy("us-regf")
    assert regf.window_current == regf.window_overdue == Window(time(8), time(21))
    assert (regf.daily_attempts, regf.weekly_attempts, regf.post_conversation_days) == (0, 7, 7)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'current = ["07:00", "19:00"]',
            'curent = ["07:00", "19:00"]',
            "window.curent: Extra inputs are not permitted",
        ),
        (
            'current = ["07:00", "19:00"]',
            'current = ["7am", "19:00"]',
            "window.current: Value error, '7am' is not a time HH:MM",
        ),
        (
            'current = ["07:00", "19:00"]',
            'current = ["19:00", "07:00"]',
            "window.current: Value error, the end must be after the start",
        ),
        (
            "daily_attempts = 3",
            "daily_attempts = -1",
            "frequency.daily_attempts: Input should be greater than or equal to 0",
        ),
        ('"non_workable"]', '"vip"]', "flags.blocking.5: Input should be"),
        (
            'fallback = ["Asia/Kolkata"]',
            'fallback = ["Asia/Mumbai"]',
            "timezones.fallback: Value error, unknown IANA time zone 'Asia/Mumbai'",
        ),
        (
            'exempt = ["min_gap", "daily_conversations"]',
            'exempt = ["window"]',
            "callback.exempt: Value error, cannot exempt window",
        ),
        ("[voicemail]\nlimited_content = true\n", "", "voicemail: Field required"),
        ('name = "rbi"', 'name = "rbi', "not valid TOML"),
    ],
)
def test_bad_policy_files_name_the_key_and_reason(old: str, new: str, problem: str) -> None:
    assert old in RBI_TEXT
    with pytest.raises(
        ConfigurationError,
        match="^policy mine.toml: .*"
        + problem.replace("(", r"\(").replace(")", r"\)").replace(".", r"\."),
    ):
        parse_policy(RBI_TEXT.replace(old, new, 1), "mine.toml")


def test_a_policy_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "bank.toml"
    path.write_text(
        RBI_TEXT.replace('name = "rbi"', 'name = "bank"').replace(
            "daily_attempts = 3", "daily_attempts = 2"
        )
    )
    policy = load_policy(str(path))
    assert (policy.name, policy.daily_attempts) == ("bank", 2)
    with pytest.raises(ConfigurationError, match="neither a bundled policy"):
        load_policy(str(tmp_path / "missing.toml"))


def test_a_bad_policy_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(RBI_TEXT.replace("min_gap_minutes = 60", "min_gap_minutes = soon"))
    with pytest.raises(ConfigurationError, match=r"broken\.toml: not valid TOML"):
        AppContext.from_settings(
            Settings(DUECALL_POLICY=str(path), DUECALL_DATABASE_URL="sqlite://")
        )
