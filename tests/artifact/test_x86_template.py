"""The x86_64 copy of the template that ``make build-x86`` builds: only the architecture changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.artifact.x86_template import TemplateShapeError, main, x86_copy

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_copy_of_the_template_differs_only_in_its_three_architecture_settings() -> None:
    original = TEMPLATE.read_text(encoding="utf-8").splitlines()
    copy = x86_copy(TEMPLATE.read_text(encoding="utf-8")).splitlines()
    assert len(copy) == len(original)
    changed = [(before.strip(), after.strip()) for before, after in zip(original, copy, strict=True) if before != after]
    assert changed == [
        ("Architectures: [arm64]", "Architectures: [x86_64]"),
        ("CompatibleArchitectures: [arm64]", "CompatibleArchitectures: [x86_64]"),
        ("BuildArchitecture: arm64", "BuildArchitecture: x86_64"),
    ]


def test_an_arm64_setting_the_copy_does_not_know_fails_and_names_its_line() -> None:
    text = TEMPLATE.read_text(encoding="utf-8") + "  Other:\n    Properties:\n      Architectures:\n        - arm64\n"
    with pytest.raises(TemplateShapeError, match=r"arm64 is still named at line \d+"):
        x86_copy(text)


def test_a_template_without_an_architecture_setting_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "template.yaml"
    source.write_text(TEMPLATE.read_text(encoding="utf-8").replace("BuildArchitecture: arm64", ""), encoding="utf-8")
    assert main([str(source), str(tmp_path / "copy.yaml")]) == 1
    assert not (tmp_path / "copy.yaml").exists()
