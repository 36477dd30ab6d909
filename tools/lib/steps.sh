# tools/lib/steps.sh: shared by the entry scripts. `step NAME CMD...` runs a
# command, printing its name and how long it took, and stops the script on failure.

step() {
	local name=$1; shift
	local t0 t1 rc
	t0=$(date +%s.%N)
	printf '==> %s\n' "$name"
	set +e
	"$@"
	rc=$?
	set -e
	t1=$(date +%s.%N)
	if [ $rc -ne 0 ]; then
		printf '==> %s: FAILED (exit %d) after %.1f s\n' "$name" "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
		exit $rc
	fi
	printf '==> %s: ok (%.1f s)\n' "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}
