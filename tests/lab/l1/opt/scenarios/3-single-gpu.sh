# Scenario 3: `single-gpu`: start stops the display manager over D-Bus, releases the frame-buffer
# console and the GPU module, binds; destroy gives back drivers, console and display manager, and the
# card is card0 again (no dead descriptor left behind).
source /opt/lab/lib.sh
need_hooks
expect_desktop "before start"

define lab-single "$(domain_xml lab-single single-gpu "<passthrough:module name='bochs'/>")"
step "virsh start lab-single"
t=$(now)
virsh start lab-single 2> /tmp/start.err || fail "virsh start failed: $(tr '\n' ' ' < /tmp/start.err)"
note "virsh start took $(elapsed "$t") s"
[ "$(vm_state lab-single)" = running ] || fail "lab-single is $(vm_state lab-single) after virsh start"
dm_inactive || fail "the display manager is still $(systemctl is-active display-manager.service) while the VM runs"
v="$(fb_vtcon)"
if [ -n "$v" ]; then [ "$(cat "$v/bind")" = 0 ] || fail "$(basename "$v") is still bound to the frame buffer"; fi
expect_drivers "while lab-single runs" $(all_vfio)
[ ! -e /dev/dri/card0 ] || fail "/dev/dri/card0 still exists while the GPU is on vfio-pci"
! grep -q '^bochs ' /proc/modules || fail "module bochs is still loaded while the VM runs"

step "virsh destroy lab-single"
t=$(now)
virsh destroy lab-single 2> /tmp/destroy.err || fail "virsh destroy failed: $(tr '\n' ' ' < /tmp/destroy.err)"
note "virsh destroy took $(elapsed "$t") s"
expect_desktop "after virsh destroy"
virsh -q undefine lab-single
