"""``ticket-gateway rules ...`` run as a real process: check, products, try (P5)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The entry point itself, so the test does not depend on an installed console script.
ENTRY = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TICKET_GATEWAY_CONFIG", None)
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, env=env, cwd=ROOT, input=stdin, timeout=60)


def test_products_json_lists_every_product_in_the_exact_shape() -> None:
    result = run("rules", "products", "--json", "--rules-dir", str(ROOT / "rules"))
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    shipped = tomllib.loads((ROOT / "rules" / "products.toml").read_text())["product"]
    assert listed == [{"product": p["name"], "current": p["current"], "past": p.get("past", [])} for p in shipped]
    assert all(set(entry) == {"product", "current", "past"} for entry in listed)


def test_products_text_form() -> None:
    result = run("rules", "products")
    assert result.returncode == 0, result.stderr
    assert "Scalix Web Access (also: SWA" in result.stdout
    assert "current: 12.7, 12.6" in result.stdout


def test_check_passes_on_shipped_rules() -> None:
    result = run("rules", "check", "--rules-dir", str(ROOT / "rules"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("rules ok")


def test_check_fails_with_file_and_rule_on_a_broken_copy(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    scope = rules / "scope.toml"
    text = scope.read_text()
    scope.write_text(text.replace("when.condition = \"feature_request\"", "when.feature_wish = true", 1))
    result = run("rules", "check", "--rules-dir", str(rules))
    assert result.returncode == 78
    assert str(scope) in result.stderr
    assert "rule 'feature-request' (line" in result.stderr
    assert "unknown predicate 'feature_wish'" in result.stderr


def test_try_explains_a_decline() -> None:
    result = run("rules", "try", "--subject", "Postfix relay config for our Exchange", "--text", "")
    assert result.returncode == 0, result.stderr
    assert "general configuration questions for non-Scalix software" in result.stdout
    assert "decided by: decline-non-vendor-config" in result.stdout


def test_try_json_reads_text_from_stdin() -> None:
    result = run("rules", "try", "--subject", "Crash", "--json", stdin="Our Scalix 11.4.6 server crashes nightly.")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["action"] == "reject_not_current"
    assert (decision["product"], decision["release"]) == ("server", "11.4.6")
