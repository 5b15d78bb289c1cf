"""The database connections a server offers: a file of `name = URL` lines and RETENTION_MCP_SOURCE_<NAME>
variables; passwords are never shown, and a bad line is named by its number, never by its text."""

from __future__ import annotations

import pytest

from retention_mcp.settings import SettingsError, sources


def test_sources_come_from_a_file_and_the_environment(tmp_path):
    listed = tmp_path / "sources"
    listed.write_text("# connections\ncrm = postgresql://reader@db/crm\n\nsales-eu = postgresql://r@eu/sales\n")
    env = {
        "RETENTION_MCP_SOURCES": str(listed),
        "RETENTION_MCP_SOURCE_CRM_PASSWORD": "pw-crm-12345",
        "RETENTION_MCP_SOURCE_LAKE": "postgresql://r@lake/db",
        "RETENTION_MCP_SOURCE_SALES_EU_PASSWORD": "pw-eu-12345",
    }
    found = sources(env)
    assert sorted(found) == ["crm", "lake", "sales-eu"]
    assert found["crm"].url == "postgresql://reader@db/crm" and found["crm"].password == "pw-crm-12345"
    assert found["sales-eu"].password == "pw-eu-12345" and found["lake"].password is None
    assert "pw-crm" not in repr(found["crm"]) and "reader@db" not in repr(found["crm"])


def test_a_bad_line_is_named_by_number_never_shown(tmp_path):
    listed = tmp_path / "sources"
    listed.write_text("crm = postgresql://reader@db/crm\nsecret-password-here\n")
    with pytest.raises(SettingsError, match="line 2") as bad:
        sources({"RETENTION_MCP_SOURCES": str(listed)})
    assert "secret-password-here" not in str(bad.value)


def test_passwords_are_scrubbed_from_text_once_configured():
    from retention_mcp import redaction

    sources(
        {"RETENTION_MCP_SOURCE_VAULT": "postgresql://u@h/d", "RETENTION_MCP_SOURCE_VAULT_PASSWORD": "Zq8-not-shown"}
    )
    sources({"RETENTION_MCP_SOURCE_INLINE": "postgresql://u:Kp4-inline-pw@h/d"})
    assert "Zq8-not-shown" not in redaction.scrub("the password is Zq8-not-shown")
    assert "Kp4-inline-pw" not in redaction.scrub("the password is Kp4-inline-pw")
