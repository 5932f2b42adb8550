# Scenario 8: how long single-gpu prepare and release take through our hook, against the kernel's and
# systemd's own time for the same operations (done by hand) and against a plain bash hook doing the
# same work with the fixed sleeps popular single-GPU scripts use. Prints the ratios.
source /opt/lab/lib.sh
need_hooks
expect_desktop "before timing"
xml="$(domain_xml lab-timing single-gpu "<passthrough:module name='bochs'/>")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

step "the same operations by hand (systemd and the kernel alone)"
modprobe vfio-pci
t=$(now); systemctl stop display-manager.service; t_dm_stop="$(elapsed "$t")"
t=$(now)
v="$(fb_vtcon)"; echo 0 > "$v/bind"
for f in "${GPU_FUNCS[@]}"; do echo "$f" > "/sys/bus/pci/devices/$f/driver/unbind"; done
modprobe -r bochs
for f in "${GPU_FUNCS[@]}"; do echo vfio-pci > "/sys/bus/pci/devices/$f/driver_override"; echo "$f" > /sys/bus/pci/drivers_probe; done
t_kernel_prepare="$(elapsed "$t")"
expect_drivers "after the manual prepare" $(all_vfio)
t=$(now)
for f in "${GPU_FUNCS[@]}"; do echo "$f" > /sys/bus/pci/drivers/vfio-pci/unbind; echo > "/sys/bus/pci/devices/$f/driver_override"; done
modprobe bochs
for f in "${GPU_FUNCS[@]}"; do [ -e "/sys/bus/pci/devices/$f/driver" ] || echo "$f" > /sys/bus/pci/drivers_probe; done
echo 1 > "$v/bind"
t_kernel_release="$(elapsed "$t")"
t=$(now); systemctl start display-manager.service; t_dm_start="$(elapsed "$t")"
expect_desktop "after the manual release"
base_prepare="$(awk -v a="$t_dm_stop" -v b="$t_kernel_prepare" 'BEGIN { print a + b }')"
base_release="$(awk -v a="$t_dm_start" -v b="$t_kernel_release" 'BEGIN { print a + b }')"
note "by hand: display manager stop $t_dm_stop s + kernel $t_kernel_prepare s; kernel $t_kernel_release s + start $t_dm_start s"

step "our hook, called as libvirt calls it"
t=$(now); printf '%s\n' "$xml" | "$HOOK" lab-timing prepare begin - || fail "our prepare exited $?"; ours_prepare="$(elapsed "$t")"
expect_drivers "after our prepare" $(all_vfio)
dm_inactive || fail "our prepare left the display manager running"
t=$(now); printf '%s\n' "$xml" | "$HOOK" lab-timing release end - || fail "our release exited $?"; ours_release="$(elapsed "$t")"
expect_desktop "after our release"

step "a plain bash hook with fixed sleeps"
t=$(now); /opt/lab/plain-bash-hook lab-timing prepare begin - < /dev/null; bash_prepare="$(elapsed "$t")"
expect_drivers "after the bash prepare" $(all_vfio)
t=$(now); /opt/lab/plain-bash-hook lab-timing release end - < /dev/null; bash_release="$(elapsed "$t")"
expect_desktop "after the bash release"

note "prepare: ours $ours_prepare s, bash $bash_prepare s, by hand $base_prepare s; ours/by-hand $(ratio "$ours_prepare" "$base_prepare"), bash/by-hand $(ratio "$bash_prepare" "$base_prepare"), ours/bash $(ratio "$ours_prepare" "$bash_prepare")"
note "release: ours $ours_release s, bash $bash_release s, by hand $base_release s; ours/by-hand $(ratio "$ours_release" "$base_release"), bash/by-hand $(ratio "$bash_release" "$base_release"), ours/bash $(ratio "$ours_release" "$bash_release")"
