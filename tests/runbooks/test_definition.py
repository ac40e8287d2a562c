"""The runbook YAML format: every shipped file parses and round-trips; errors name the path and line."""

import pytest

from runbooks import definition, library


@pytest.mark.parametrize("path", library.shipped_files(), ids=lambda p: p.name)
def test_shipped_runbook_round_trips(path):
    parsed = definition.parse(path.read_text(encoding="utf-8"))
    text = definition.dump(parsed)
    assert definition.parse(text) == parsed
    assert parsed["slug"] == path.stem
    # Cyrillic stays readable in the export
    assert "\\u04" not in text and parsed["title"][:10] in text or "{{" in parsed["title"]


def test_library_has_the_seed_runbooks():
    slugs = {p.stem for p in library.shipped_files()}
    assert {
        "node-maintenance",
        "kubeadm-upgrade",
        "certificates",
        "velero-backup",
        "velero-restore",
        "cni-flannel-to-calico",
        "global-dr-switchover",
        "announcement-banner",
    } <= slugs


BASE = """
title: Работы
parameters:
  - {name: nodes, type: node_list}
steps:
  - name: Шаг
    duration: 5 мин
"""


def _problems(text):
    with pytest.raises(definition.DefinitionError) as info:
        definition.parse(text)
    return info.value.problems


def test_normalised_defaults():
    parsed = definition.parse(BASE)
    step = parsed["steps"][0]
    assert step["kind"] == "work" and step["risks"] == [] and step["automation"] is None
    assert parsed["parameters"][0] == {
        "name": "nodes",
        "type": "node_list",
        "label": "nodes",
        "required": True,
        "help": "",
    }
    assert parsed["plan"]["kind"] == "normal"


def test_bad_duration_names_path_and_line():
    text = BASE + "  - name: Второй\n    duration: полчаса\n"
    problems = _problems(text)
    assert [p.path for p in problems] == ["steps[1].duration"]
    assert problems[0].line == 9
    assert "steps[1].duration" in str(problems[0]) and "9" in str(problems[0])


def test_unknown_placeholder_kind_and_risk_number():
    text = """
title: "Работы {{ cluster }}"
parameters:
  - {name: nodes, type: node_list}
steps:
  - for_each: nodes
    as: node
    steps:
      - name: "Узел {{ node }} {{ nod }}"
        risks: [Риск]
        rollback: [{text: Откат, risks: [1, 2]}]
        automation: {kind: teleport, spec: {}}
"""
    paths = {p.path: p.message for p in _problems(text)}
    assert "title" in paths and "cluster" in paths["title"]
    assert "nod" in paths["steps[0].steps[0].name"]
    assert "2" in paths["steps[0].steps[0].rollback[0].risks"]
    assert "teleport" in paths["steps[0].steps[0].automation.kind"]


def test_for_each_must_name_a_node_list_and_not_nest():
    text = """
title: Работы
parameters:
  - {name: version, type: version, default: "1.30"}
  - {name: nodes, type: node_list}
steps:
  - for_each: version
    steps: [{name: A}]
  - for_each: nodes
    steps:
      - for_each: nodes
        steps: [{name: B}]
"""
    paths = [p.path for p in _problems(text)]
    assert "steps[0].for_each" in paths and "steps[1].steps[0].for_each" in paths


def test_parameter_checks():
    text = """
title: Работы
parameters:
  - {name: Bad-Name, type: string}
  - {name: v, type: version, default: "latest"}
  - {name: c, type: choice}
  - {name: x, type: colour}
steps: [{name: A}]
"""
    paths = [p.path for p in _problems(text)]
    assert paths == ["parameters[0].name", "parameters[1].default", "parameters[2].choices", "parameters[3].type"]


def test_runner_check_is_called():
    text = """
title: Работы
steps:
  - name: A
    automation: {kind: shell, spec: {argv: [sh, -c, "echo hi"]}}
"""
    problems = _problems(text)
    assert problems[0].path == "steps[0].automation.spec"


def test_secrets_only_in_automation():
    ok = definition.parse(
        "title: A\nsteps:\n  - name: A\n"
        "    automation: {kind: shell, spec: {argv: [echo], env: {TOKEN: '{{ secret.api }}'}}}\n"
    )
    assert ok["steps"][0]["automation"]["spec"]["env"]["TOKEN"] == "{{ secret.api }}"
    problems = _problems("title: A\nsteps:\n  - name: 'A {{ secret.api }}'\n")
    assert problems[0].path == "steps[0].name"


def test_invalid_yaml_reports_line():
    problems = _problems("title: A\nsteps:\n  - name: [unclosed\n")
    assert problems[0].line is not None
