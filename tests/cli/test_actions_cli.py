"""``onevoice actions load FILE``: YAML or JSON in, bad input refused by field name."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from onevoice.bootstrap import bootstrap
from onevoice.cli import main
from onevoice.config import Settings

YAML = """\
actions:
  - id: mortgage-review
    purpose: marketing
    value: 120
    cost: {default: 0.05, call_centre: 4}
    valid_until: 2099-01-01
    cooldown: 7d
    treatments:
      web: {title: "Your mortgage, reviewed", body: "Book a call with an advisor"}
      call_centre: {script: "Offer a free mortgage review"}
    eligibility: >
      profile.lifecycle in ['customer', 'repeat'] && 'web' in profile.channels
  - id: welcome
    purpose: service
    value: 1
    treatments:
      email: {subject: Welcome, body: "Glad you are here"}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_yaml_catalog_is_loaded_into_the_database(tmp_path: Path) -> None:
    file = tmp_path / "catalog.yaml"
    file.write_text(YAML)
    database = str(tmp_path / "ov.db")
    code, out, err = run("actions", "load", str(file), "--database", database)
    assert code == 0, err
    assert "mortgage-review" in out and "loaded 2 actions" in err
    ov = bootstrap(Settings(database_url=database))
    try:
        action = ov.decisions.catalog["mortgage-review"]
        assert action.cost("call_centre") == 4 and action.valid_until is not None
    finally:
        ov.close()
    code, out, _err = run("actions", "list", "--database", database)
    assert code == 0 and "welcome\tservice\temail" in out


def test_a_json_catalog_updates_what_is_there(tmp_path: Path) -> None:
    database = str(tmp_path / "ov.db")
    file = tmp_path / "catalog.json"
    action = {
        "id": "welcome",
        "purpose": "service",
        "value": 2,
        "treatments": {"sms": {"text": "Hi"}},
    }
    file.write_text(json.dumps({"actions": [action]}))
    assert run("actions", "load", str(file), "--database", database)[0] == 0
    file.write_text(json.dumps([action | {"value": 3}]))
    assert run("actions", "load", str(file), "--database", database)[0] == 0
    code, out, _err = run("actions", "list", "--database", database)
    assert code == 0 and out.split() == ["welcome", "service", "sms", "3"]


def test_bad_input_names_the_field_and_a_bad_rule_its_position(tmp_path: Path) -> None:
    database = str(tmp_path / "ov.db")
    file = tmp_path / "catalog.yaml"
    file.write_text(YAML.replace("value: 120", "value: lots"))
    code, _out, err = run("actions", "load", str(file), "--database", database)
    assert code == 2 and "actions[0].value" in err
    file.write_text(YAML.replace("&& 'web'", "&& && 'web'"))
    code, _out, err = run("actions", "load", str(file), "--database", database)
    assert code == 2 and "actions[0].eligibility" in err and "line 1, column" in err
    file.write_text("actions: [unclosed")
    code, _out, err = run("actions", "load", str(file), "--database", database)
    assert code == 2 and "not valid YAML" in err
    code, _out, err = run("actions", "load", str(tmp_path / "missing.yaml"), "--database", database)
    assert code == 2 and "cannot read" in err
