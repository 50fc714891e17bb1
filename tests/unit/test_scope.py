"""Scope: single-account keys stay exactly as they were; organization keys carry the account and region."""

from __future__ import annotations

import pytest

from warden.scope import Scope


def test_single_account_keys_are_unchanged() -> None:
    # GIVEN a single-account scope WHEN a key is made THEN it is the name itself
    assert Scope("123456789012", "us-east-1").key("alice-0123") == "alice-0123"


def test_organization_keys_carry_account_and_region() -> None:
    scope = Scope("222222222222", "eu-west-1", org=True)
    assert scope.key("alice-0123") == "222222222222/eu-west-1/alice-0123"
    assert scope.label == "222222222222/eu-west-1"


def test_a_label_parses_back_to_its_organization_scope() -> None:
    assert Scope.parse("333333333333/us-east-1") == Scope("333333333333", "us-east-1", org=True)


@pytest.mark.parametrize("label", ["333333333333", "33333/us-east-1", "333333333333/Not A Region", "/", ""])
def test_a_label_that_names_no_scope_is_refused_by_name(label: str) -> None:
    with pytest.raises(ValueError, match="not an account/region label"):
        Scope.parse(label)


def test_a_scope_refuses_an_account_that_is_not_twelve_digits() -> None:
    # Keys are built from it: a slash or a stray character would make one scope's keys another's.
    with pytest.raises(ValueError, match="not an account id"):
        Scope("2222/eu-west-1", "eu-west-1", org=True)
