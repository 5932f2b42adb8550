# Scenario 9 (issue 15): in `dynamic` mode a process holding the passed GPU's DRM card node (a
# compositor left on the card) makes `virsh start` fail with that process named, in virsh's error and
# in the hook's log, and every driver unchanged; once it lets go, the same VM starts.
source /opt/lab/lib.sh
need_hooks
# dynamic = the host desktop runs elsewhere; the holder below plays a compositor that opened this card anyway.
systemctl stop display-manager.service
card="$(ls "/sys/bus/pci/devices/$GPU_VGA/drm" | grep -E '^card[0-9]+$' | head -n1)"
[ -n "$card" ] || fail "$GPU_VGA has no DRM card node (bochs-drm not bound?)"
cp /bin/sleep /run/lab-compositor
/run/lab-compositor 600 9< "/dev/dri/$card" &
holder=$!
trap 'kill "$holder" 2>/dev/null || true' EXIT
wait_for 10 test -e "/proc/$holder/fd/9" || fail "the holder (pid $holder) did not open /dev/dri/$card"

define lab-held "$(domain_xml lab-held dynamic)"
step "virsh start lab-held (must fail: lab-compositor holds /dev/dri/$card)"
if virsh start lab-held 2> /tmp/start.err; then
  virsh destroy lab-held >/dev/null 2>&1 || true
  fail "virsh start succeeded although lab-compositor (pid $holder) holds /dev/dri/$card"
fi
cat /tmp/start.err
note "virsh start refused: $(grep -o 'lab-compositor (pid [0-9]*) has [^ ]* open[^;.]*' /tmp/start.err | head -n1)"
grep -q "lab-compositor (pid $holder) has /dev/dri/$card open (user root)" /tmp/start.err \
  || fail "virsh start's error does not name lab-compositor (pid $holder): $(tr '\n' ' ' < /tmp/start.err)"
grep -q "lab-compositor (pid $holder)" "$LOG" || fail "$LOG does not name lab-compositor (pid $holder)"
expect_drivers "after the refused start" "${ORIGINAL_DRIVERS[@]}"
for f in "${GPU_FUNCS[@]}"; do
  [ -z "$(override_of "$f")" ] || fail "$f: driver_override set to $(override_of "$f") by a refused start"
done
! ls /run/passthrough/*.json >/dev/null 2>&1 || fail "a refused start left a journal: $(ls /run/passthrough)"
[ "$(vm_state lab-held)" = "shut off" ] || fail "lab-held is $(vm_state lab-held)"

step "the holder exits; virsh start lab-held"
kill "$holder"; wait "$holder" 2>/dev/null || true
virsh start lab-held 2> /tmp/start.err || fail "virsh start failed once nothing held the card: $(tr '\n' ' ' < /tmp/start.err)"
expect_drivers "while lab-held runs" $(all_vfio)
virsh destroy lab-held 2> /tmp/destroy.err || fail "virsh destroy failed: $(tr '\n' ' ' < /tmp/destroy.err)"
expect_drivers "after virsh destroy" "${ORIGINAL_DRIVERS[@]}"
virsh -q undefine lab-held
systemctl start display-manager.service
