"""OKNO_SSO_GROUP_ROLES: both spellings, DNs with "=" in them, case, unknown roles (sso/roles.py)."""

import pytest

from sso.roles import MappingError, parse_group_roles, roles_for_groups


def test_text_form_splits_each_part_at_its_last_equals_sign():
    mapping = parse_group_roles(
        "cn=okno-authors,ou=groups,dc=example,dc=org=author;"
        " CN=Okno-Ops, OU=Groups,DC=example,DC=org=operator,duty_officer"
    )
    assert mapping == {
        "cn=okno-authors,ou=groups,dc=example,dc=org": {"author"},
        "cn=okno-ops,ou=groups,dc=example,dc=org": {"operator", "duty_officer"},
    }


def test_json_form():
    mapping = parse_group_roles('{"/okno/authors": "author", "okno-admins": ["admin", "approver"]}')
    assert mapping == {"/okno/authors": {"author"}, "okno-admins": {"admin", "approver"}}


def test_groups_match_without_regard_to_case_and_spaces_after_commas():
    mapping = parse_group_roles("cn=okno-authors,ou=groups,dc=example,dc=org=author")
    assert roles_for_groups(["CN=Okno-Authors, OU=Groups, DC=Example, DC=Org", "cn=canteen"], mapping) == {"author"}


@pytest.mark.parametrize(
    "text", ["okno-authors=writer", "okno-authors", "{not json", '["author"]', '{"g": 5}', "=author", "g="]
)
def test_unreadable_mappings_are_refused(text):
    with pytest.raises(MappingError):
        parse_group_roles(text)


def test_empty_means_no_mapping():
    assert parse_group_roles("  ") == {}
