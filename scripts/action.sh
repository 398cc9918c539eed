#!/usr/bin/env bash
# What the sidecar-enrich GitHub Action (action.yml) runs, one subcommand per step, so the
# tests can run the very same commands on a fixture site (tests/test_action.py).
#
#   action.sh install            install the package from the action's checkout (+ extra)
#   action.sh cache-key          where .enrich/cache is, and the actions/cache keys for it
#   action.sh run COMMAND        plan | enrich | batch | batch-wait | build | frozen-build | review
#   action.sh push               push the commit `run` made (only step that sees the token)
#
# Everything arrives through the environment (never interpolated into the script):
#   ACTION_PATH      the action's checkout (github.action_path)
#   CONFIG_FILE      the site's config file ("" = the CLI's default)
#   GENERATOR        mkdocs | properdocs | zensical
#   EXTRA            the pip extra ("" = the generator's: mkdocs, properdocs, none)
#   PACKAGES         more pip requirements, space-separated (theme, plugins)
#   ANTHROPIC_API_KEY  optional; without it the step plans and builds from what is committed
#   COMMIT, PUSH     "true" to commit the sidecars (and push them)
#   STRICT           "false" for --no-strict
#   REVIEW_HTML, SINCE   for `review`: where the page goes, and the git ref to compare with
#   GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_EVENT_PATH  for `review`: the commit its links point at
#   BASE_SHA, PUSH_TOKEN for `push`
#   PYTHON           the interpreter (default: python, the one setup-python put on PATH)
#   GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_REF, GITHUB_SERVER_URL, GITHUB_REPOSITORY, RUNNER_TEMP
set -euo pipefail

PY=${PYTHON:-python}
CONFIG_FILE=${CONFIG_FILE:-}
GENERATOR=${GENERATOR:-mkdocs}
SUMMARY=${GITHUB_STEP_SUMMARY:-/dev/null}
OUTPUT=${GITHUB_OUTPUT:-/dev/null}

die() {
  printf '::error title=sidecar-enrich::%s\n' "$1"
  exit 2
}

# The `-f CONFIG` arguments, when a config file was given.
config_args=()
[ -n "$CONFIG_FILE" ] && config_args=(-f "$CONFIG_FILE")

pipeline() {
  "$PY" -m pipeline "$@"
}

# summary TITLE CMD...: run CMD; its output goes to the log and, fenced, to the job summary.
# The fence is longer than any run of backticks in the output, so text from the site (a
# page title, say) cannot close it. Returns CMD's exit code.
summary() {
  local title=$1 out rc=0 fence='```'
  shift
  out=$("$@" 2>&1) || rc=$?
  printf '%s\n' "$out"
  while printf '%s' "$out" | grep -qF -- "$fence"; do fence="$fence\`"; done
  {
    printf '### %s\n\n%stext\n%s\n%s\n\n' "$title" "$fence" "$out" "$fence"
    [ "$rc" -eq 0 ] || printf '_exit code %s_\n\n' "$rc"
  } >>"$SUMMARY"
  return "$rc"
}

has_key() {
  [ -n "${ANTHROPIC_API_KEY// /}" ]
}

install() {
  [ -n "${ACTION_PATH:-}" ] || die "ACTION_PATH is not set"
  local extra=${EXTRA:-} spec reqs=()
  if [ -z "$extra" ]; then
    case "$GENERATOR" in
      mkdocs | properdocs) extra=$GENERATOR ;;
      zensical) extra= ;;
      *) die "generator must be mkdocs, properdocs or zensical, not '$GENERATOR'" ;;
    esac
  fi
  spec=$ACTION_PATH
  [ -n "$extra" ] && spec="${ACTION_PATH}[$extra]"
  reqs=("$spec")
  # Zensical is installed as its docs say; this is the range our adapter accepts.
  [ "$GENERATOR" = zensical ] && reqs+=("zensical>=0.0.73,<0.2")
  if [ -n "${PACKAGES:-}" ]; then
    local more
    read -r -a more <<<"$PACKAGES"
    reqs+=("${more[@]}")
  fi
  # One install per job: a second use of the action in the same job skips it.
  local marker="${RUNNER_TEMP:-/tmp}/sidecar-enrich-installed"
  local want="${reqs[*]}"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
    echo "Already installed in this job: $want"
    return 0
  fi
  "$PY" -m pip install --disable-pip-version-check "${reqs[@]}"
  printf '%s' "$want" >"$marker"
}

cache_key() {
  "$PY" "${ACTION_PATH:-.}/scripts/cache_key.py" "${config_args[@]}" >>"$OUTPUT"
}

run() {
  local command=${1:-} rc=0
  case "$command" in
    plan)
      printf "## %s\n\n" "Enrichment plan" >>"$SUMMARY"
      # Informational: a problem is shown (and named on stderr), not a failed step.
      summary "Status" pipeline status "${config_args[@]}" || true
      summary "Requests and estimated cost" pipeline enrich --dry-run "${config_args[@]}" || true
      ;;
    enrich | batch | batch-wait)
      local args=(enrich "${config_args[@]}")
      [ "$command" = batch ] && args+=(--batch)
      [ "$command" = batch-wait ] && args+=(--batch --wait)
      [ "${COMMIT:-false}" = true ] && args+=(--commit)
      printf "## %s\n\n" "Enrichment" >>"$SUMMARY"
      if ! has_key; then
        echo "::warning title=Enrichment skipped::no anthropic-api-key given; nothing spent"
        summary "Status (no key: nothing spent)" pipeline status "${config_args[@]}" || true
        return 0
      fi
      as_the_bot
      summary "Run" pipeline "${args[@]}" || rc=$?
      summary "Spent (from the ledger)" pipeline report "${config_args[@]}" || true
      return "$rc"
      ;;
    build | frozen-build)
      local args=(build --generator "$GENERATOR" "${config_args[@]}")
      [ "$command" = frozen-build ] && args+=(--frozen)
      [ "${STRICT:-true}" = false ] && args+=(--no-strict)
      if [ "$command" = frozen-build ]; then
        # A frozen build never calls the API, whatever key the workflow passed.
        ANTHROPIC_API_KEY="" pipeline "${args[@]}"
      else
        # With a key, build enriches what is stale, pages whose words come from
        # elsewhere included (from what this build shows), and commits it all.
        if [ "${COMMIT:-false}" = true ]; then
          args+=(--commit)
          as_the_bot
        fi
        pipeline "${args[@]}"
      fi
      ;;
    review)
      local html=${REVIEW_HTML:-enrich-review.html} args=() sha=""
      args=(report --review --html "$html" "${config_args[@]}")
      [ -n "${SINCE:-}" ] && args+=(--since "$SINCE")
      # On GitHub, the page links each file to the forge at the commit reviewed: a pull
      # request's head (GITHUB_SHA is its merge commit), so links work from the artifact.
      if [ -n "${GITHUB_REPOSITORY:-}" ]; then
        if [ -f "${GITHUB_EVENT_PATH:-}" ]; then
          sha=$("$PY" -c 'import json, sys; e = json.load(open(sys.argv[1]))
print(((e.get("pull_request") or {}).get("head") or {}).get("sha") or "")' \
            "$GITHUB_EVENT_PATH" 2>/dev/null) || sha=""
        fi
        [ -n "$sha" ] || sha=${GITHUB_SHA:-}
        if [[ "$sha" =~ ^[0-9a-f]{40}$ ]]; then
          args+=(--link-base "${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/blob/$sha/")
        fi
      fi
      printf "## %s\n\n" "Review" >>"$SUMMARY"
      summary "Items to review" pipeline "${args[@]}" || rc=$?
      echo "html=$html" >>"$OUTPUT"
      return "$rc"
      ;;
    *) die "command must be plan, enrich, batch, batch-wait, build, frozen-build or review, not '$command'" ;;
  esac
}

as_the_bot() {
  echo "base=$(git rev-parse HEAD 2>/dev/null || true)" >>"$OUTPUT"
  # The bot commits; the workflow's own git config is left alone.
  export GIT_AUTHOR_NAME="github-actions[bot]" GIT_COMMITTER_NAME="github-actions[bot]"
  export GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
  export GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
}

push() {
  local head
  head=$(git rev-parse HEAD)
  if [ -z "${BASE_SHA:-}" ] || [ "$head" = "$BASE_SHA" ]; then
    echo "Nothing committed; nothing to push."
    echo "sha=$head" >>"$OUTPUT"
    return 0
  fi
  [ -n "${PUSH_TOKEN:-}" ] || die "push: no token (the action's github-token input)"
  local ref=${GITHUB_REF:?} server=${GITHUB_SERVER_URL:-https://github.com} auth
  # The token reaches git for these commands only (an HTTP header, as actions/checkout
  # sends it), never the repository's config: nothing later in the job can read it back.
  # The empty value first drops a header a persisted checkout left, so one is sent.
  auth="AUTHORIZATION: basic $(printf 'x-access-token:%s' "$PUSH_TOKEN" | base64 -w0)"
  echo "::add-mask::$auth"
  local git_auth=(git -c "http.$server/.extraheader=" -c "http.$server/.extraheader=$auth")
  export GIT_COMMITTER_NAME="github-actions[bot]"
  export GIT_COMMITTER_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
  if ! "${git_auth[@]}" push origin "HEAD:$ref"; then
    # Someone pushed meanwhile: replay the bot commit on top of theirs, once.
    "${git_auth[@]}" pull --rebase origin "$ref"
    "${git_auth[@]}" push origin "HEAD:$ref"
  fi
  echo "sha=$(git rev-parse HEAD)" >>"$OUTPUT"
}

case "${1:-}" in
  install) install ;;
  cache-key) cache_key ;;
  run) run "${2:-}" ;;
  push) push ;;
  *) die "usage: action.sh install | cache-key | run COMMAND | push" ;;
esac
