"""A DATABASE_URL's password never reaches a message or a log, wherever the URL carries it."""

from __future__ import annotations

import pytest

from bot.store.db import DatabaseUnavailable, dialect_of, open_database, redacted_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bot:s3cret@db:5432/concierge", "postgresql://bot@db:5432/concierge"),
        (
            "postgresql://bot@db/concierge?sslmode=require&password=s3cret",
            "postgresql://bot@db/concierge?sslmode=require",
        ),
        ("postgres://db/concierge?PASSWORD=s3cret&user=bot", "postgres://db/concierge?user=bot"),
        ("postgresql://db/concierge?sslpassword=s3cret", "postgresql://db/concierge"),
        ("postgresql://bot:p@ss?s3cret@db/c?password=s3cret", "postgresql://bot@db/c"),
        ("postgresql://db/concierge", "postgresql://db/concierge"),
        ("postgresql://h/d?password=p@s3cret", "postgresql://h/d"),
        ("postgresql://h/d?sslmode=require&password=p@s3cret&user=bot", "postgresql://h/d?sslmode=require&user=bot"),
        ("postgresql://h?password=p@s3cret", "postgresql://h"),
        ("postgresql://h/d?pass%77ord=s3cret&sslPassword=s3cret", "postgresql://h/d"),
        ("postgresql://h/d?password=s3cret#s3cret", "postgresql://h/d"),
        ("postgresql://bot:pa/s3cret@db/c", "postgresql://bot@db/c"),
        ("postgresql://bot:pa#s3cret@db/c", "postgresql://bot@db/c"),
        ("postgresql://bot:p?s3cret@db", "postgresql://bot@db"),
    ],
)
def test_a_password_is_redacted_from_the_user_info_and_from_the_query(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
    assert "s3cret" not in redacted_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@h/d?application_name=a@b", "postgresql://u@h/d?application_name=a@b"),
        ("postgresql://u:s3cret@h?application_name=a@b", "postgresql://u@h?application_name=a@b"),
        ("postgresql://h/d?application_name=a@b&password=s3cret", "postgresql://h/d?application_name=a@b"),
        ("sqlite:///var/lib/concierge/bot.db", "sqlite:///var/lib/concierge/bot.db"),
    ],
)
def test_an_at_sign_in_the_query_leaves_the_host_and_the_other_parameters_as_they_are(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


@pytest.mark.asyncio
async def test_a_database_that_cannot_be_reached_is_named_without_its_query_password() -> None:
    with pytest.raises(DatabaseUnavailable) as failed:
        await open_database("postgresql://bot@127.0.0.1:9/concierge?password=hunter2&connect_timeout=2")
    assert "hunter2" not in str(failed.value)
    assert "postgresql://bot@127.0.0.1:9/concierge" in str(failed.value)


def test_a_mistyped_database_url_is_named_without_its_password() -> None:
    with pytest.raises(ValueError) as refused:
        dialect_of("mysql://bot:hunter2@db/x?password=hunter2")
    assert "hunter2" not in str(refused.value)
