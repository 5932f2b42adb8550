# Scenario 10: CPU isolation through the real systemd. A `dynamic` VM with <passthrough:isolate cpus>:
# while it runs, init.scope, system.slice and user.slice have AllowedCPUs set to the host's CPUs (the
# VM's taken out); a second VM isolating the same CPU keeps it off the host after the first stops, and
# once both stopped each unit has what it had before. A start that fails half-way
# (scenario 5's shadowed driver_override) leaves AllowedCPUs as it was, too.
source /opt/lab/lib.sh
need_hooks
units=(init.scope system.slice user.slice)
online="$(cat /sys/devices/system/cpu/online)"
[ "$online" != 0 ] || fail "L1 has one CPU ($online): isolation needs two (tests/lab/run gives L1 -smp 2)"
last="${online##*[-,]}"   # the highest CPU goes to the VM, the rest stay with the host
allowed() { systemctl show -p AllowedCPUs --value "$1"; }
snapshot() { local u; for u in "${units[@]}"; do printf '%s=%s ' "$u" "$(allowed "$u")"; done | sed 's/ $//'; }
before="$(snapshot)"
note "online CPUs $online; before: $before"
# dynamic = the host desktop runs on another GPU: nothing of the host holds this one.
systemctl stop display-manager.service

define lab-isolated "$(domain_xml lab-isolated dynamic "<passthrough:isolate cpus='$last'/>")"
step "virsh start lab-isolated (isolate cpus=$last)"
virsh start lab-isolated 2> /tmp/start.err || fail "virsh start failed: $(tr '\n' ' ' < /tmp/start.err)"
[ "$(vm_state lab-isolated)" = running ] || fail "lab-isolated is $(vm_state lab-isolated) after virsh start"
expect_drivers "while lab-isolated runs" $(all_vfio)
[ "$online" = "0-$last" ] || fail "online CPUs are '$online', expected 0-N"
if [ "$last" = 1 ]; then host=0; else host="0-$((last - 1))"; fi
for u in "${units[@]}"; do
  [ "$(allowed "$u")" = "$host" ] || fail "while lab-isolated runs: $u has AllowedCPUs='$(allowed "$u")', expected '$host'"
done
effective="$(cat /sys/fs/cgroup/system.slice/cpuset.cpus.effective 2>/dev/null || echo '?')"
note "while running: $(snapshot); system.slice cpuset.cpus.effective=$effective"
[ "$effective" = "$host" ] || fail "the kernel does not apply it: system.slice cpuset.cpus.effective is '$effective', expected '$host'"

# A second VM isolating the same CPU, stopped after the first (start order). libvirt would not start two
# VMs on one GPU, so its hook runs by hand; static: its functions, on vfio-pci now, are only checked.
second="$(domain_xml lab-isolated-2 static "<passthrough:isolate cpus='$last'/>")"
hook2() { printf '%s' "$second" | passthrough hook qemu lab-isolated-2 "$1" "$2" - 2> /tmp/hook2.err || fail "hook $1 of lab-isolated-2 failed: $(tr '\n' ' ' < /tmp/hook2.err)"; }
step "hook prepare of a second VM lab-isolated-2 (static, isolate cpus=$last)"
hook2 prepare begin

step "virsh destroy lab-isolated"
virsh destroy lab-isolated 2> /tmp/destroy.err || fail "virsh destroy failed: $(tr '\n' ' ' < /tmp/destroy.err)"
expect_drivers "after virsh destroy" "${ORIGINAL_DRIVERS[@]}"
for u in "${units[@]}"; do
  [ "$(allowed "$u")" = "$host" ] || fail "after virsh destroy, lab-isolated-2 still running: $u has AllowedCPUs='$(allowed "$u")', expected '$host'"
done
step "hook release of lab-isolated-2"
hook2 release end
[ "$(snapshot)" = "$before" ] || fail "after both stopped: $(snapshot), before it was: $before"
virsh -q undefine lab-isolated

step "a start that fails after the isolation (a function that cannot be bound)"
victim="${GPU_FUNCS[3]}"
override="$(realpath "/sys/bus/pci/devices/$victim")/driver_override"
: > /run/lab-fake-override
mount --bind /run/lab-fake-override "$override"
trap 'umount "$override" 2>/dev/null || true' EXIT
define lab-isolated-broken "$(domain_xml lab-isolated-broken dynamic "<passthrough:isolate cpus='$last'/>")"
if virsh start lab-isolated-broken 2> /tmp/start.err; then
  virsh destroy lab-isolated-broken >/dev/null 2>&1 || true
  fail "virsh start succeeded although $victim cannot be bound"
fi
note "the failed start said: $(grep -v '^$' /tmp/start.err | tail -n1 | cut -c1-200)"
grep -q "$victim" /tmp/start.err || fail "virsh start's error does not name $victim: $(tr '\n' ' ' < /tmp/start.err)"
umount "$override"
[ "$(snapshot)" = "$before" ] || fail "after the failed start: $(snapshot), before it was: $before"
expect_drivers "after the failed start" "${ORIGINAL_DRIVERS[@]}"
virsh -q undefine lab-isolated-broken
systemctl start display-manager.service
