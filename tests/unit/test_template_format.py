"""The template format: every problem is reported with the file and the line it stands on."""

from __future__ import annotations

import pytest

from retention_mcp.registry import Registry, check_directory, load_directory
from retention_mcp.template import TemplateError, load_file, parse_template
from tests.conftest import MINIMAL_TEMPLATE, ROOT, TEMPLATE_NAMES, TEMPLATE_VERSIONS, write_template

GOOD = MINIMAL_TEMPLATE.format(name="note", title="Note", version="1.0.0", locale="en")


def error_of(source: str) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        parse_template(source, "t.prompty")
    return info.value


def test_shipped_templates_are_valid_and_complete():
    assert check_directory(ROOT / "templates") == []
    registry = Registry.load()
    assert registry.names() == TEMPLATE_NAMES
    for template in registry:
        assert template.languages == ["en", "zh"], template.name
        assert template.version == TEMPLATE_VERSIONS[template.name], template.name
    assert {t.name for t in registry if any(s.name == "dataset" for s in t.inputs)} == {
        "churn_analysis",
        "retention_strategy",
    }


def test_minimal_template_parses_into_messages():
    file = parse_template(GOOD.lstrip("\n"), "note.prompty")
    assert [m.role for m in file.messages] == ["system", "user"]
    assert file.messages[1].variables == {"topic"}
    assert file.language == "en" and file.version == "1.0.0" and file.title == "Note"


@pytest.mark.parametrize(
    ("mutate", "line", "fragment"),
    [
        (lambda s: s.replace("title: Note\n", "title: Note\ncolour: red\n"), 4, "unknown key 'colour'"),
        (lambda s: s.replace("  locale: en\n", "  locale: en\n  owner: me\n"), 8, "unknown key 'owner' in metadata"),
        (
            lambda s: s.replace("    required: true\n", "    required: true\n    size: 3\n"),
            12,
            "unknown key 'size' in inputs.0",
        ),
        (lambda s: s.replace("description: A test template.\n", ""), 2, "missing key 'description'"),
        (lambda s: s.replace("title: Note\n", "title: Note\ntitle: Again\n"), 4, "key 'title' appears twice"),
        (lambda s: s.replace("kind: string", "kind: text"), 10, "inputs.0.kind"),
        (lambda s: s.replace("locale: en", "locale: fr"), 7, "metadata.locale"),
        (lambda s: s.replace("version: 1.0.0", "version: one"), 6, "metadata.version"),
        (lambda s: s.replace("name: topic", "name: language").replace("topic }}", "language }}"), 9, "reserved"),
        (
            lambda s: s.replace("    required: true\n", "    required: true\n    default: x\n"),
            9,
            "cannot have a default",
        ),
        (lambda s: s.replace("title: Note", "title: [unclosed"), 4, "not valid YAML"),
    ],
)
def test_front_matter_errors_name_the_line(mutate, line, fragment):
    err = error_of(mutate(GOOD.lstrip("\n")))
    assert fragment in err.message
    assert err.line == line
    assert str(err).startswith(f"t.prompty:{line}: ")


@pytest.mark.parametrize(
    ("mutate", "line", "fragment"),
    [
        (
            lambda s: s.replace("{{ topic }}", "{{ topic }} {{ audience }}"),
            19,
            "'audience' is used in the body but not declared",
        ),
        (lambda s: s.replace("{{ topic }}", "fixed"), 9, "input 'topic' is declared but never used"),
        (lambda s: s.replace("You write short notes.", "Notes on {{ topic }}."), 15, "system message uses 'topic'"),
        (lambda s: s.replace("{{ topic }}", "{% if topic %}{{ topic }}"), 19, "template syntax error"),
        (lambda s: s.replace("system:\n", "Intro line\nsystem:\n"), 14, "must start with a role line"),
        (lambda s: s.replace("user:\n", "assistant:\n"), 14, "needs a 'user:' message"),
        (lambda s: s.replace("You write short notes.\n", ""), 14, "'system:' message is empty"),
    ],
)
def test_body_errors_name_the_line(mutate, line, fragment):
    err = error_of(mutate(GOOD.lstrip("\n")))
    assert fragment in err.message
    assert err.line == line


def test_file_level_errors():
    assert "starts with a '---' line" in error_of("name: x\n").message
    assert "not closed" in error_of("---\nname: x\n").message
    assert "YAML mapping" in error_of("---\n- a\n---\nuser:\nx\n").message


def test_role_markers_only_on_their_own_line():
    source = GOOD.lstrip("\n").replace("You write short notes.", "You write short notes.\nuser: is not a role line")
    file = parse_template(source, "t.prompty")
    assert [m.role for m in file.messages] == ["system", "user"]
    assert "user: is not a role line" in file.messages[0].source


def test_non_utf8_file_is_reported(tmp_path):
    path = tmp_path / "bad.prompty"
    path.write_bytes(b"---\nname: \xff\n---\n")
    with pytest.raises(TemplateError, match="not UTF-8"):
        load_file(path)


def test_languages_must_agree(tmp_path):
    write_template(tmp_path, "note.en.prompty", GOOD)
    zh = MINIMAL_TEMPLATE.format(name="note", title="笔记", version="1.0.0", locale="zh")
    write_template(tmp_path, "note.zh.prompty", zh.replace("required: true", "required: false"))
    problems = check_directory(tmp_path)
    assert len(problems) == 1
    assert "input 'topic'" in problems[0].message and "differs" in problems[0].message


def test_versions_must_agree_and_languages_not_repeat(tmp_path):
    write_template(tmp_path, "a.en.prompty", GOOD)
    write_template(
        tmp_path, "b.zh.prompty", MINIMAL_TEMPLATE.format(name="note", title="笔记", version="1.1.0", locale="zh")
    )
    assert "version 1.1.0 differs" in check_directory(tmp_path)[0].message
    (tmp_path / "b.zh.prompty").unlink()
    write_template(tmp_path, "c.en.prompty", GOOD)
    assert "also defined by" in check_directory(tmp_path)[0].message


def test_check_directory_reports_every_broken_file(tmp_path):
    write_template(tmp_path, "one.prompty", GOOD.replace("title: Note", "title: Note\nextra: 1"))
    write_template(
        tmp_path, "two.prompty", GOOD.replace("name: note", "name: two").replace("{{ topic }}", "{{ nope }}")
    )
    write_template(tmp_path, "three.prompty", GOOD.replace("name: note", "name: three"))
    problems = check_directory(tmp_path)
    assert [p.path.name for p in problems] == ["one.prompty", "two.prompty"]
    with pytest.raises(TemplateError, match=r"one\.prompty:4"):
        load_directory(tmp_path)


def test_check_directory_on_missing_or_empty_folder(tmp_path):
    assert "not a directory" in check_directory(tmp_path / "missing")[0].message
    assert "no .prompty files" in check_directory(tmp_path)[0].message


def test_serving_accepts_an_empty_folder_but_not_a_missing_one(tmp_path):
    assert Registry.load([tmp_path]).names() == TEMPLATE_NAMES
    with pytest.raises(TemplateError, match="not a directory"):
        Registry.load([tmp_path / "missing"])
