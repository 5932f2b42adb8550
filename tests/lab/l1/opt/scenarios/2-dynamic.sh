# Scenario 2: `hooks install`, libvirtd restart, a `dynamic` VM: `virsh start` moves all four functions
# to vfio-pci through our hook and L2 runs with them; `virsh destroy` gives each its driver back.
source /opt/lab/lib.sh
need_verb hooks install
need_verb hook qemu
# dynamic = the host desktop runs on another GPU: nothing of the host holds this one.
systemctl stop display-manager.service

step "passthrough hooks install"
passthrough hooks install || fail "passthrough hooks install exited $?"
[ -x "$HOOK" ] || fail "hooks install did not leave an executable $HOOK"
t=$(now); systemctl restart libvirtd.service; note "libvirtd restart took $(elapsed "$t") s"
passthrough hooks status || fail "hooks status says the hook is not ready after the restart"

define lab-dynamic "$(domain_xml lab-dynamic dynamic)"
step "virsh start lab-dynamic"
t=$(now)
virsh start lab-dynamic 2> /tmp/start.err || fail "virsh start failed: $(tr '\n' ' ' < /tmp/start.err)"
note "virsh start took $(elapsed "$t") s"
[ "$(vm_state lab-dynamic)" = running ] || fail "lab-dynamic is $(vm_state lab-dynamic) after virsh start"
expect_drivers "while lab-dynamic runs" $(all_vfio)
pid="$(cat /run/libvirt/qemu/lab-dynamic.pid)"
n="$(ls -l "/proc/$pid/fd" | grep -c /dev/vfio/ || true)"
[ "$n" -ge 1 ] || fail "the L2 QEMU (pid $pid) has no /dev/vfio descriptor open"
grep -q "hook qemu lab-dynamic prepare begin" "$LOG" || fail "$LOG has no 'hook qemu lab-dynamic prepare begin'"

step "virsh destroy lab-dynamic"
t=$(now)
virsh destroy lab-dynamic 2> /tmp/destroy.err || fail "virsh destroy failed: $(tr '\n' ' ' < /tmp/destroy.err)"
note "virsh destroy took $(elapsed "$t") s"
expect_drivers "after virsh destroy" "${ORIGINAL_DRIVERS[@]}"
for f in "${GPU_FUNCS[@]}"; do
  [ -z "$(override_of "$f")" ] || fail "$f: driver_override left as $(override_of "$f")"
done
grep -q "hook qemu lab-dynamic release end" "$LOG" || fail "$LOG has no 'hook qemu lab-dynamic release end'"
# libvirt also ran start, started and stopped: the script left before starting passthrough.
! grep -E "hook qemu lab-dynamic (start|started|stopped) " "$LOG" || fail "passthrough was started for a call other than prepare begin/release end"
virsh -q undefine lab-dynamic
systemctl start display-manager.service
