# Scenario 6: `kill -9` of a `passthrough bind` in progress, then `passthrough restore --all` from the
# console: every function is back on its driver with no override left.
source /opt/lab/lib.sh
need_verb bind
need_verb restore
need_verb status
systemctl stop display-manager.service
expect_drivers "before bind" "${ORIGINAL_DRIVERS[@]}"

moved() {
  local f; for f in "${GPU_FUNCS[@]}"; do
    [ -n "$(override_of "$f")" ] && return 0
  done; return 1
}
step "passthrough bind $GPU_SLOT, killed once the first function moves"
passthrough bind "$GPU_SLOT" > /tmp/bind.out 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null && ! moved; do :; done
kill -9 "$pid" 2>/dev/null && state="killed while binding" || state="bind had finished before the kill"
wait "$pid" 2>/dev/null || true
note "$state; drivers then: $(drivers)"

step "passthrough status"
passthrough status || true
step "passthrough restore --all"
t=$(now)
passthrough restore --all || fail "passthrough restore --all exited $?"
note "restore --all took $(elapsed "$t") s"
expect_drivers "after restore --all" "${ORIGINAL_DRIVERS[@]}"
for f in "${GPU_FUNCS[@]}"; do
  [ -z "$(override_of "$f")" ] || fail "$f: driver_override left as $(override_of "$f")"
done
left="$(passthrough status --json | jq -c '[.. | objects | select(has("address")) | .address] | length' 2>/dev/null || echo '?')"
note "status --json after restore: $left device entries"
systemctl start display-manager.service
