# Scenario 4: `static`: with the functions already on vfio-pci (boot-time binding) the VM starts and
# they stay there; with them on their host drivers `virsh start` fails fast with our message.
source /opt/lab/lib.sh
need_hooks
systemctl stop display-manager.service
modprobe vfio-pci
define lab-static "$(domain_xml lab-static static)"

step "functions already on vfio-pci"
for f in "${GPU_FUNCS[@]}"; do bind_by_hand "$f" vfio-pci; done
expect_drivers "after binding by hand" $(all_vfio)
t=$(now)
virsh start lab-static 2> /tmp/start.err || fail "virsh start with every function on vfio-pci failed: $(tr '\n' ' ' < /tmp/start.err)"
note "virsh start (bound) took $(elapsed "$t") s"
[ "$(vm_state lab-static)" = running ] || fail "lab-static is $(vm_state lab-static)"
virsh destroy lab-static 2> /tmp/destroy.err || fail "virsh destroy failed: $(tr '\n' ' ' < /tmp/destroy.err)"
expect_drivers "static mode after destroy (binding is the host's, not ours)" $(all_vfio)
reset_host_by_hand
systemctl stop display-manager.service

step "functions on their host drivers"
expect_drivers "before the failing start" "${ORIGINAL_DRIVERS[@]}"
t=$(now)
if virsh start lab-static 2> /tmp/start.err; then
  virsh destroy lab-static >/dev/null 2>&1 || true
  fail "virsh start succeeded although no function is on vfio-pci"
fi
took="$(elapsed "$t")"
cat /tmp/start.err
note "virsh start refused in $took s: $(grep -v '^$' /tmp/start.err | tail -n1 | cut -c1-200)"
grep -q vfio-pci /tmp/start.err || fail "virsh start's error does not say vfio-pci: $(tr '\n' ' ' < /tmp/start.err)"
grep -q "$GPU_SLOT" /tmp/start.err || fail "virsh start's error does not name the device: $(tr '\n' ' ' < /tmp/start.err)"
expect_drivers "after the refused start" "${ORIGINAL_DRIVERS[@]}"
[ "$(vm_state lab-static)" = "shut off" ] || fail "lab-static is $(vm_state lab-static) after a refused start"
virsh -q undefine lab-static
systemctl start display-manager.service
