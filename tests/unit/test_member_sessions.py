"""MemberSessions: the member role assumed per account and region, renewed by the clock, failures named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.fakes import FakeClock
from warden.adapters.member import MemberSessions, sts_endpoint
from warden.errors import AwsCallFailed, MemberUnreachable
from warden.scope import Scope

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CENTRAL = "123456789012"
PROD_WEB = Scope("222222222222", "eu-west-1", org=True)


class FakeSts:
    """STS as the warden sees it: each AssumeRole hands out new keys valid for the requested duration."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse: str | None = None

    def client(self, region: str) -> FakeSts:
        self.region = region
        return self

    def assume_role(self, **request: Any) -> dict[str, Any]:
        self.calls.append((self.region, request))
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "not allowed"}}, "AssumeRole")
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{len(self.calls)}",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": self.clock.now() + timedelta(seconds=request["DurationSeconds"]),
            }
        }


def members(clock: FakeClock, sts: FakeSts) -> MemberSessions:
    own = boto3.session.Session(aws_access_key_id="AKIAOWN", aws_secret_access_key="own", region_name="us-east-1")
    return MemberSessions(own, "session-warden-member", clock, central_account=CENTRAL, sts=sts.client)


def keys(session: boto3.session.Session) -> str:
    credentials = session.get_credentials()
    assert credentials is not None
    return credentials.get_frozen_credentials().access_key


def test_a_member_scope_acts_through_the_member_role_in_its_region() -> None:
    # GIVEN the central warden WHEN it needs a session in prod-web, eu-west-1
    clock = FakeClock(NOW)
    sts = FakeSts(clock)
    session = members(clock, sts).session(PROD_WEB)
    # THEN it assumed the member role of that account through eu-west-1's STS, as session-warden
    assert keys(session) == "ASIA1"
    assert session.region_name == "eu-west-1"
    region, request = sts.calls[0]
    assert region == "eu-west-1"
    assert request["RoleArn"] == "arn:aws:iam::222222222222:role/session-warden-member"
    assert request["RoleSessionName"] == "session-warden"


def test_credentials_are_reused_until_five_minutes_before_they_expire() -> None:
    clock = FakeClock(NOW)
    sts = FakeSts(clock)
    sessions = members(clock, sts)
    session = sessions.session(PROD_WEB)
    # WHEN the same scope is asked for again 54 minutes later THEN nothing is assumed again
    clock.advance(minutes=54)
    assert sessions.session(PROD_WEB) is session
    assert keys(session) == "ASIA1"
    assert len(sts.calls) == 1
    # WHEN less than 5 minutes remain THEN the next call renews them, in the same session (clients keep working)
    clock.advance(minutes=2)
    assert keys(session) == "ASIA2"
    assert len(sts.calls) == 2


def test_the_central_account_uses_its_own_credentials_in_every_region() -> None:
    clock = FakeClock(NOW)
    sts = FakeSts(clock)
    sessions = members(clock, sts)
    home = sessions.session(Scope(CENTRAL, "us-east-1", org=True))
    other = sessions.session(Scope(CENTRAL, "eu-west-1", org=True))
    assert (keys(home), keys(other)) == ("AKIAOWN", "AKIAOWN")
    assert other.region_name == "eu-west-1"
    assert sts.calls == []


def test_a_member_role_that_cannot_be_assumed_names_account_region_and_role() -> None:
    clock = FakeClock(NOW)
    sts = FakeSts(clock)
    sts.refuse = "AccessDenied"
    with pytest.raises(MemberUnreachable) as raised:
        members(clock, sts).session(PROD_WEB)
    message = str(raised.value)
    assert "arn:aws:iam::222222222222:role/session-warden-member" in message
    assert "account 222222222222" in message and "region eu-west-1" in message
    assert isinstance(raised.value, AwsCallFailed)
    assert raised.value.code == "AccessDenied"


def test_a_renewal_that_fails_fails_the_call_that_needed_it_by_name() -> None:
    # GIVEN a session whose role is deleted while its credentials run out
    clock = FakeClock(NOW)
    sts = FakeSts(clock)
    session = members(clock, sts).session(PROD_WEB)
    sts.refuse = "AccessDenied"
    clock.advance(minutes=58)
    # WHEN a call needs fresh credentials THEN it fails with the member named, never with stale credentials
    with pytest.raises(MemberUnreachable, match="222222222222"):
        keys(session)


def test_on_aws_sts_is_called_at_the_regional_endpoint_and_locally_at_the_local_cloud() -> None:
    assert sts_endpoint("eu-west-1") == "https://sts.eu-west-1.amazonaws.com"
    assert sts_endpoint("cn-north-1") == "https://sts.cn-north-1.amazonaws.com.cn"
    assert sts_endpoint("eu-west-1", "http://127.0.0.1:5000") == "http://127.0.0.1:5000"
