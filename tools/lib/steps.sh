# SPDX-License-Identifier: GPL-2.0-or-later
# tools/lib/steps.sh: shared by the entry scripts.
#   step NAME CMD...     run CMD, print its name and duration; stop the script on failure
#   step_rc NAME CMD...  the same, but return CMD's exit status instead of stopping

_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

step_rc() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s.%N)
	printf '==> %s\n' "$name"
	set +e
	"$@"
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		printf '==> %s: FAILED (exit %d) after %s s\n' "$name" "$rc" "$(_elapsed "$t0")"
	else
		printf '==> %s: ok (%s s)\n' "$name" "$(_elapsed "$t0")"
	fi
	return $rc
}

step() {
	step_rc "$@" || exit $?
}
