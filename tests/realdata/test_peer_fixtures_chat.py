"""Telegram Desktop and Mattermost exports that other projects keep as test data, read exactly
(ground truth: ../shared/realdata/README.md; values checked against the raw files)."""

from collections import Counter

import pytest

from tests.helpers.readers import read_export

pytestmark = pytest.mark.realdata


def test_telegram_2023_layout_exported_east_of_utc(realdata):
    reader, messages, merged, dead = read_export(realdata / "peer-fixtures" / "telegram" / "chm-telegram_2023-01")
    assert (reader.platform, len(messages), len(merged), len(dead)) == ("telegram", 6, 0, 0)
    assert Counter(m["message"]["kind"] for m in messages) == {"system": 5, "user": 1}
    last = messages[-1]
    # `date` says 19:55 on a UTC+5 machine; `date_unixtime` is the truth.
    assert (last["@timestamp"], last["message"]["subtype"]) == ("2023-02-18T14:55:02.000Z", "suggest_profile_photo")


def test_telegram_2020_channel_without_unix_times(realdata):
    reader, messages, merged, dead = read_export(realdata / "peer-fixtures" / "telegram" / "tg2md")
    assert (reader.platform, len(messages), len(merged), len(dead)) == ("telegram", 19, 0, 0)
    assert Counter(m["message"]["kind"] for m in messages) == {"user": 18, "system": 1}
    last = messages[-1]
    assert (last["@timestamp"], last["message"]["text"]) == ("2021-07-14T19:20:23.000Z", "test text file")
    assert last["timestamp"]["rule"] == "local-time-assumed-utc"  # no zone in this layout, and it says so


def test_mattermost_bulk_export_with_two_teams_and_a_nested_reply(realdata):
    reader, messages, merged, dead = read_export(realdata / "peer-fixtures" / "mattermost" / "zulip-export")
    assert (reader.platform, len(messages), len(merged), len(dead)) == ("mattermost", 21, 0, 0)
    assert len({m["conversation"]["id"] for m in messages}) == 6
    reply = next(m for m in messages if m["reply_to"])
    assert (reply["author"]["name"], reply["message"]["text"]) == ("Ron Weasley", "The weather is so hot!")
    assert reply["@timestamp"] == "2019-03-21T11:09:44.976Z"
