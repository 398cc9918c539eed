"""The GitHub Action (action.yml): its steps run here as the runner runs them, on fixture sites.

`run_action` reads action.yml and runs each `run:` step with bash, its `env:` filled in
from the inputs (defaults from action.yml), `github.*` and earlier steps' outputs, as
the runner does; the `uses:` steps (setup-python, actions/cache) are GitHub's own and are
skipped, and so is the install step (this checkout is already installed in .venv: the
install line itself is tested in a fresh venv below, marked slow). The API is the local
fake; git remotes are bare repositories in tmp_path.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import user_text
from fake_anthropic import FakeAnthropic
from test_workflows import actionlint, describe  # noqa: F401 (a fixture)

import pipeline
from pipeline.render.markdown_copy import markdown_copy
from pipeline.render.site_pass import CopyCache

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
SCRIPT = ROOT / "scripts" / "action.sh"
WORKFLOWS = ROOT / ".github" / "workflows"
EXPR = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")
PUSH_IF = (
    "always() && inputs.commit == 'true' && inputs.push == 'true' && steps.run.outcome != 'skipped'"
)


@dataclass
class Ran:
    code: int  # the first failing step's exit code, else 0
    log: str  # every step's stdout and stderr
    summary: str  # $GITHUB_STEP_SUMMARY
    outputs: dict[str, dict[str, str]]  # step id -> its outputs
    steps: list[str]  # names of the steps that ran


def _outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def run_action(cwd: Path, inputs: dict[str, str], env: dict[str, str] | None = None) -> Ran:
    """Run action.yml's `run:` steps in cwd, as the runner would."""
    declared = ACTION["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    token = "ghs_test-token"
    values = {
        **{f"inputs.{k}": str(v.get("default", "")) for k, v in declared.items()},
        **{f"inputs.{k}": v for k, v in inputs.items()},
        "github.action_path": str(ROOT),
        "github.token": token,
    }
    if values["inputs.github-token"] == "${{ github.token }}":
        values["inputs.github-token"] = token
    temp = cwd.parent / f"{cwd.name}-runner"
    temp.mkdir(exist_ok=True)
    summary = temp / "summary.md"
    summary.touch()
    base_env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SERVER_URL": "https://github.com",
        "RUNNER_TEMP": str(temp),
        **(env or {}),
    }
    outputs: dict[str, dict[str, str]] = {}
    log, ran, code, failed = [], [], 0, False
    for i, step in enumerate(ACTION["runs"]["steps"]):
        if "uses" in step or "install" in step.get("run", ""):
            continue
        cond = step.get("if")
        if cond is not None:
            assert cond == PUSH_IF, f"the harness does not know this condition: {cond}"
            if not (values["inputs.commit"] == values["inputs.push"] == "true"):
                continue
        elif failed:
            continue  # a failed step stops the rest, as `if: success()` does

        def value(m: re.Match) -> str:
            key = m.group(1)
            if key.startswith("steps."):
                _, sid, _, name = key.split(".")
                return outputs.get(sid, {}).get(name, "")
            return values[key]

        step_env = {k: EXPR.sub(value, str(v)) for k, v in step.get("env", {}).items()}
        out_file = temp / f"output-{i}"
        out_file.write_text("")
        assert "${{" not in step["run"], "a value interpolated into a script"
        proc = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=cwd,
            env={**base_env, **step_env, "GITHUB_OUTPUT": str(out_file)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        ran.append(step["name"])
        log.append(f"--- {step['name']}\n{proc.stdout}{proc.stderr}")
        if "id" in step:
            outputs[step["id"]] = _outputs(out_file)
        if proc.returncode and not failed:
            code, failed = proc.returncode, True
    return Ran(code, "\n".join(log), summary.read_text(), outputs, ran)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def git_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Site Owner")
    git(root, "config", "user.email", "owner@example.org")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "site")


def demo_site(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy2(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    return root


SMALL_SITE = {
    "mkdocs.yml": "site_name: Small\ndocs_dir: docs\nplugins:\n  - enrich\n",
    "docs/index.md": "# Home\n\nThe co-op fixes bikes every Tuesday.\n",
    "docs/guide.md": "# Guide\n\nHow to patch a tube in five steps.\n",
}


def small_site(tmp_path: Path) -> Path:
    root = tmp_path / "small"
    for rel, text in SMALL_SITE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def fake():
    server = FakeAnthropic().start()
    try:
        yield server
    finally:
        server.stop()


def api_env(fake: FakeAnthropic) -> dict[str, str]:
    return {
        "ANTHROPIC_BASE_URL": fake.url,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


# --- the action's commands on fixture sites ---------------------------------------------------


def test_plan_writes_status_and_cost_to_the_summary_fenced(tmp_path):
    root = demo_site(tmp_path)
    ran = run_action(root, {"command": "plan"})
    assert ran.code == 0, ran.log
    assert ran.summary.startswith("## Enrichment plan\n\n### Status\n\n```text\nmkdocs.yml")
    assert "### Requests and estimated cost\n\n```text\n" in ran.summary
    assert ran.steps == [
        "Where .enrich/cache is, and its cache keys",
        "sidecar-enrich ${{ inputs.command }}",
    ]
    keys = ran.outputs["cache-key"]
    assert keys["path"] == ".enrich/cache"
    assert keys["key"].startswith(keys["restore-keys"])
    assert keys["restore-keys"].startswith("sidecar-enrich-")


def test_summary_fence_outgrows_backticks_in_the_output(tmp_path):
    # A fake interpreter prints a page title with four backticks and fails.
    fake_py = tmp_path / "bin" / "python"
    fake_py.parent.mkdir()
    fake_py.write_text("#!/bin/sh\nprintf 'title ```` end\\n'\nexit 1\n")
    fake_py.chmod(0o755)
    summary = tmp_path / "summary.md"
    proc = subprocess.run(
        [str(SCRIPT), "run", "plan"],
        cwd=tmp_path,
        env={**os.environ, "PYTHON": str(fake_py), "GITHUB_STEP_SUMMARY": str(summary)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr  # the plan is informational
    text = summary.read_text()
    assert text.count("`````text\ntitle ```` end\n`````\n") == 2
    assert text.count("_exit code 1_") == 2


def test_enrich_without_a_key_spends_nothing_and_commits_nothing(tmp_path):
    root = small_site(tmp_path)
    git_repo(root)
    head = git(root, "rev-parse", "HEAD")
    ran = run_action(root, {"command": "enrich", "commit": "true", "push": "true"})
    assert ran.code == 0, ran.log
    assert "::warning title=Enrichment skipped::" in ran.log
    assert "Status (no key: nothing spent)" in ran.summary
    assert git(root, "rev-parse", "HEAD") == head
    assert not list(root.rglob("*.enrich.yml"))
    assert "Nothing committed; nothing to push." in ran.log


def test_enrich_commits_as_the_bot_and_pushes_only_sidecars_and_ledger(tmp_path, fake):
    root = small_site(tmp_path)
    git_repo(root)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(root), str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    (root / "notes.txt").write_text("not ours to commit\n")  # an unrelated change stays out
    ran = run_action(
        root,
        {
            "command": "enrich",
            "commit": "true",
            "push": "true",
            "anthropic-api-key": "test-key",
        },
        env=api_env(fake),
    )
    assert ran.code == 0, ran.log
    pushed = git(remote, "rev-parse", "main")
    assert ran.outputs["push"]["sha"] == pushed == git(root, "rev-parse", "HEAD")
    assert git(remote, "log", "-1", "--format=%an <%ae>|%cn", "main") == (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
        "|github-actions[bot]"
    )
    files = git(remote, "show", "--name-only", "--format=", "main").splitlines()
    assert sorted(files) == [
        ".enrich/ledger.jsonl",
        "docs/guide.md.enrich.yml",
        "docs/index.md.enrich.yml",
    ]
    # The token went to git for the push only: not into the repository's config.
    assert "ghs_test-token" not in (root / ".git" / "config").read_text()
    assert "x-access-token" not in git(root, "config", "--list")
    assert "### Run\n" in ran.summary and "### Spent (from the ledger)\n" in ran.summary
    assert "Total: 2 requests" in ran.summary


def test_build_with_a_key_enriches_what_it_shows_and_commits_it_with_the_record(tmp_path, fake):
    """publish.yml's direct step: `build` with the key enriches a page that includes a
    file from what the build shows, and commits its sidecars with the rendered record."""
    root = small_site(tmp_path)
    (root / "mkdocs.yml").write_text(
        SMALL_SITE["mkdocs.yml"]
        + "markdown_extensions:\n  - pymdownx.snippets:\n      base_path: [.]\n"
    )
    (root / "HOURS.md").write_text("Open on Tuesdays from six to nine.\n")
    (root / "docs" / "hours.md").write_text('# Hours\n\n--8<-- "HOURS.md"\n')
    (root / ".gitignore").write_text("site/\n.enrich/cache/\n")
    git_repo(root)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(root), str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    ran = run_action(
        root,
        {"command": "build", "commit": "true", "push": "true", "anthropic-api-key": "test-key"},
        env=api_env(fake),
    )
    assert ran.code == 0, ran.log
    sent = [m for m in fake.messages() if "Title: Hours" in user_text(m)]
    assert len(sent) == 1 and "from six to nine" in user_text(sent[0])
    assert "--8<--" not in user_text(sent[0])
    files = git(remote, "show", "--name-only", "--format=", "main").splitlines()
    assert sorted(files) == [
        ".enrich/ledger.jsonl",
        ".enrich/rendered.json",
        "docs/guide.md.enrich.yml",
        "docs/hours.md.enrich.yml",
        "docs/index.md.enrich.yml",
    ]
    assert git(remote, "log", "-1", "--format=%an", "main") == "github-actions[bot]"


def test_push_replays_the_bot_commit_on_a_branch_that_moved(tmp_path, fake):
    root = small_site(tmp_path)
    git_repo(root)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(root), str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True)
    (other / "docs" / "extra.txt").write_text("someone pushed meanwhile\n")
    git(other, "add", "-A")
    git(other, "-c", "user.name=A", "-c", "user.email=a@example.org", "commit", "-qm", "meanwhile")
    git(other, "push", "-q", "origin", "main")
    ran = run_action(
        root,
        {"command": "enrich", "commit": "true", "push": "true", "anthropic-api-key": "k"},
        env=api_env(fake),
    )
    assert ran.code == 0, ran.log
    subjects = git(remote, "log", "--format=%s", "main").splitlines()
    assert subjects[1:] == ["meanwhile", "site"]
    assert subjects[0].startswith("enrich")


def test_frozen_build_fails_on_stale_items_and_never_calls_the_api(tmp_path, fake):
    root = small_site(tmp_path)
    ran = run_action(root, {"command": "frozen-build", "anthropic-api-key": "k"}, env=api_env(fake))
    assert ran.code == 1, ran.log
    assert "FROZEN: 2 item(s) are stale" in ran.log
    assert fake.requests == []


@pytest.mark.timeout(240)
def test_build_builds_the_demo_from_committed_sidecars(tmp_path):
    root = demo_site(tmp_path)
    ran = run_action(root, {"command": "build", "extra": "material"})
    assert ran.code == 0, ran.log
    assert "Enrichment skipped (ANTHROPIC_API_KEY not set)" in ran.log
    page = (root / "site" / "guides" / "fix-a-flat" / "index.html").read_text()
    assert 'alt="Fixing a flat in four steps' in page


def test_review_writes_the_page_and_names_it_as_an_output(tmp_path):
    root = demo_site(tmp_path)
    git_repo(root)
    car = root / "content" / "img" / "workshop.png.enrich.yml"
    car.write_text(car.read_text().replace("alt: '", "alt: 'Changed. ", 1))
    ran = run_action(root, {"command": "review", "review-html": "out/review.html"})
    assert ran.code == 0, ran.log
    assert ran.outputs["run"]["html"] == "out/review.html"
    html = (root / "out" / "review.html").read_text()
    assert "<code>img/workshop.png</code>" in html
    assert html.count('class="image-item"') == 1 and 'class="page-item"' not in html
    assert "## Review\n\n### Items to review\n" in ran.summary


def test_an_unknown_command_stops_with_one_line(tmp_path):
    ran = run_action(demo_site(tmp_path), {"command": "publish"})
    assert ran.code == 2
    assert "::error title=sidecar-enrich::command must be plan, enrich" in ran.log


# --- the cache keys: a stale cache is only slower --------------------------------------------


def cache_key(root: Path) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cache_key.py")],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return _outputs_text(proc.stdout)


def _outputs_text(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_cache_key_follows_the_site_and_falls_back_only_within_the_same_code(tmp_path):
    root = small_site(tmp_path)
    first = cache_key(root)
    assert cache_key(root) == first
    (root / "docs" / "guide.md").write_text("# Guide\n\nFive steps, then a pump.\n")
    second = cache_key(root)
    assert second["key"] != first["key"]
    assert second["restore-keys"] == first["restore-keys"]  # restores the older cache
    # The fallback names the code: another version of this package never restores it.
    spec = importlib.util.spec_from_file_location("cache_key", ROOT / "scripts" / "cache_key.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert first["restore-keys"].endswith(f"-{pipeline.__version__}-{module.code_hash()[:16]}-")


def test_a_restored_scan_cache_gives_the_plan_a_cold_run_gives(tmp_path):
    """A fresh clone rewrites every file (new mtimes) and may restore an older cache."""
    root = small_site(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def status() -> str:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", "status", "--json"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        ).stdout

    status()
    old_cache = (root / ".enrich" / "cache" / "scan.json").read_bytes()
    page = root / "docs" / "guide.md"
    page.write_text(page.read_text().replace("five", "nine"))  # the same size
    st = page.stat()
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    (root / ".enrich" / "cache" / "scan.json").write_bytes(old_cache)
    warm = status()
    shutil.rmtree(root / ".enrich")
    assert warm == status()


def test_a_stale_markdown_copy_entry_is_never_used(tmp_path):
    path = tmp_path / "markdown-copies.json"
    old = CopyCache(path)
    args = {"title": "T", "page_url": "t/", "copy_path": "t.md"}
    first = markdown_copy("<article><h1>T</h1><p>one</p></article>", **args)
    old.put(old.key("<article><h1>T</h1><p>one</p></article>", **args), first)
    old.save()
    restored = CopyCache(path)
    assert restored.cached(restored.key("<article><h1>T</h1><p>two</p></article>", **args)) is None
    assert restored.cached(restored.key("<article><h1>T</h1><p>one</p></article>", **args)) == first


# --- the action file and the workflows that use it --------------------------------------------


def test_workflows_use_the_action_with_inputs_it_declares():
    declared = set(ACTION["inputs"])
    used = 0
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        for job in doc["jobs"].values():
            for s in job.get("steps", []):
                if s.get("uses") == "./":
                    used += 1
                    assert set(s.get("with", {})) <= declared, (path.name, s["name"])
    assert used >= 6


def test_action_refers_only_to_declared_inputs_and_steps():
    text = (ROOT / "action.yml").read_text()
    ids = {s["id"] for s in ACTION["runs"]["steps"] if "id" in s}
    for name in re.findall(r"inputs\.([\w-]+)", text):
        assert name in ACTION["inputs"], name
    for sid in re.findall(r"steps\.([\w-]+)\.", text):
        assert sid in ids, sid
    for s in ACTION["runs"]["steps"]:
        if "uses" in s:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", s["uses"]), s["uses"]
        else:
            assert s["shell"] == "bash"
            assert "${{" not in s["run"]  # values arrive through env:
    # The token reaches one step only.
    holders = [s for s in ACTION["runs"]["steps"] if "github-token" in str(s.get("env", {}))]
    assert [s["id"] for s in holders] == ["push"]


def test_action_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    proc = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    for s in ACTION["runs"]["steps"]:
        if "run" in s:
            script = "#!/bin/bash -e\n" + s["run"]
            proc = subprocess.run(
                [shellcheck, "-s", "bash", "-"], input=script, capture_output=True, text=True
            )
            assert proc.returncode == 0, f"{s['name']}\n{proc.stdout}"


# --- the README's workflows -------------------------------------------------------------------


def readme_workflows() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use it in GitHub Actions\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return [b for b in blocks if "\njobs:\n" in b]


def test_readme_shows_a_workflow_for_mkdocs_and_one_for_zensical():
    docs = [yaml.safe_load(b) for b in readme_workflows()]
    generators = set()
    for doc in docs:
        for job in doc["jobs"].values():
            for s in job.get("steps", []):
                if s.get("uses") == "OWNER/REPO@REF":
                    assert set(s.get("with", {})) <= set(ACTION["inputs"]), s
                    generators.add(s["with"].get("generator", "mkdocs"))
    assert generators == {"mkdocs", "zensical"}


def test_readme_workflows_pass_actionlint(actionlint, tmp_path):  # noqa: F811
    for n, block in enumerate(readme_workflows()):
        path = tmp_path / f"readme-{n}.yml"
        path.write_text(block)
        code, findings = actionlint(path)
        assert findings == {str(path): []}, describe(findings)
        assert code == 0
