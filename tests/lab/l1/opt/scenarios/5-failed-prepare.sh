# Scenario 5: a function that cannot be bound (its driver_override is shadowed by a bind mount, so
# vfio-pci never claims it) fails `single-gpu` prepare half-way: the host is left as it was, drivers,
# console and display manager, and `virsh start` shows our one-line error.
source /opt/lab/lib.sh
need_hooks
expect_desktop "before start"
victim="${GPU_FUNCS[3]}"
override="$(realpath "/sys/bus/pci/devices/$victim")/driver_override"
: > /run/lab-fake-override
mount --bind /run/lab-fake-override "$override"
trap 'umount "$override" 2>/dev/null || true' EXIT

define lab-broken "$(domain_xml lab-broken single-gpu "<passthrough:module name='bochs'/>")"
step "virsh start lab-broken (must fail at $victim)"
t=$(now)
if virsh start lab-broken 2> /tmp/start.err; then
  virsh destroy lab-broken >/dev/null 2>&1 || true
  fail "virsh start succeeded although $victim cannot be bound"
fi
took="$(elapsed "$t")"
cat /tmp/start.err
note "virsh start failed in $took s: $(grep -v '^$' /tmp/start.err | tail -n1 | cut -c1-200)"
grep -q "$victim" /tmp/start.err || fail "virsh start's error does not name $victim: $(tr '\n' ' ' < /tmp/start.err)"
umount "$override"
expect_desktop "after the failed start"
[ "$(vm_state lab-broken)" = "shut off" ] || fail "lab-broken is $(vm_state lab-broken)"
virsh -q undefine lab-broken
