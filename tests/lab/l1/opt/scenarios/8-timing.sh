# Scenario 8: how long single-gpu prepare and release take through our hook, against the kernel's and
# systemd's own time for the same operations (done by hand) and against a plain bash hook doing the
# same work with the fixed sleeps popular single-GPU scripts use. Prints the ratios.
# One sample of each is noise under TCG on a shared machine (a second of load moves a ratio by 0.5), so
# by hand and ours alternate for LAB_TIMING_ROUNDS rounds (default 3) and the medians are compared.
source /opt/lab/lib.sh
need_hooks
expect_desktop "before timing"
xml="$(domain_xml lab-timing single-gpu "<passthrough:module name='bochs'/>")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rounds="${LAB_TIMING_ROUNDS:-3}"
log=/var/log/passthrough/passthrough.log
modprobe vfio-pci

by_hand() {
  local t dm_stop kernel_prepare kernel_release dm_start v
  t=$(now); systemctl stop display-manager.service; dm_stop="$(elapsed "$t")"
  t=$(now)
  v="$(fb_vtcon)"; echo 0 > "$v/bind"
  for f in "${GPU_FUNCS[@]}"; do echo "$f" > "/sys/bus/pci/devices/$f/driver/unbind"; done
  modprobe -r bochs
  for f in "${GPU_FUNCS[@]}"; do echo vfio-pci > "/sys/bus/pci/devices/$f/driver_override"; echo "$f" > /sys/bus/pci/drivers_probe; done
  kernel_prepare="$(elapsed "$t")"
  expect_drivers "after the manual prepare" $(all_vfio)
  t=$(now)
  for f in "${GPU_FUNCS[@]}"; do echo "$f" > /sys/bus/pci/drivers/vfio-pci/unbind; echo > "/sys/bus/pci/devices/$f/driver_override"; done
  modprobe bochs
  for f in "${GPU_FUNCS[@]}"; do [ -e "/sys/bus/pci/devices/$f/driver" ] || echo "$f" > /sys/bus/pci/drivers_probe; done
  echo 1 > "$v/bind"
  kernel_release="$(elapsed "$t")"
  t=$(now); systemctl start display-manager.service; dm_start="$(elapsed "$t")"
  expect_desktop "after the manual release"
  note "by hand, round $1: display manager stop $dm_stop s + kernel $kernel_prepare s; kernel $kernel_release s + start $dm_start s"
  hand_prepare+=("$(awk -v a="$dm_stop" -v b="$kernel_prepare" 'BEGIN { print a + b }')")
  hand_release+=("$(awk -v a="$dm_start" -v b="$kernel_release" 'BEGIN { print a + b }')")
}

ours() {
  local t p r
  t=$(now); printf '%s\n' "$xml" | "$HOOK" lab-timing prepare begin - || fail "our prepare exited $?"; p="$(elapsed "$t")"
  expect_drivers "after our prepare" $(all_vfio)
  dm_inactive || fail "our prepare left the display manager running"
  t=$(now); printf '%s\n' "$xml" | "$HOOK" lab-timing release end - || fail "our release exited $?"; r="$(elapsed "$t")"
  expect_desktop "after our release"
  note "ours, round $1: prepare $p s, release $r s"
  # The hook logs what each took (StepTimes): the breakdown behind a slow round.
  grep -E "(prepared|released) lab-timing" "$log" | tail -n 2 | sed 's/^[^ ]* [^ ]* [0-9]* INFO passthrough /  /' | while read -r line; do note "$line"; done
  ours_prepare+=("$p"); ours_release+=("$r")
}

# What one process costs here (TCG): the floor under any hook. Medians of 5.
floor() {
  local what="$1" t samples=() i; shift
  for i in 1 2 3 4 5; do t=$(now); "$@" >/dev/null 2>&1 < "$floor_input"; samples+=("$(elapsed "$t")"); done
  note "one process: $what $(median "${samples[@]}") s"
}
floor_input="$(mktemp)"; printf '%s\n' "$xml" > "$floor_input"
floor "systemctl is-active display-manager.service (C, for comparison)" systemctl is-active display-manager.service
floor "passthrough --version" /usr/local/bin/passthrough --version
floor "the hook script, a call it does not act on (start begin)" "$HOOK" lab-timing start begin -
floor "passthrough hook qemu, a call it only logs (start begin)" /usr/local/bin/passthrough hook qemu lab-timing start begin -
printf '<domain><name>other</name></domain>\n' > "$floor_input"
floor "the hook, prepare begin of a VM without our metadata" "$HOOK" other prepare begin -
floor "passthrough list --json" /usr/local/bin/passthrough list --json
rm -f "$floor_input"

hand_prepare=(); hand_release=(); ours_prepare=(); ours_release=()
for round in $(seq "$rounds"); do
  step "round $round: the same operations by hand (systemd and the kernel alone), then our hook as libvirt calls it"
  by_hand "$round"
  ours "$round"
done

step "a plain bash hook with fixed sleeps"
t=$(now); /opt/lab/plain-bash-hook lab-timing prepare begin - < /dev/null; bash_prepare="$(elapsed "$t")"
expect_drivers "after the bash prepare" $(all_vfio)
t=$(now); /opt/lab/plain-bash-hook lab-timing release end - < /dev/null; bash_release="$(elapsed "$t")"
expect_desktop "after the bash release"

base_prepare="$(median "${hand_prepare[@]}")"; base_release="$(median "${hand_release[@]}")"
our_prepare="$(median "${ours_prepare[@]}")"; our_release="$(median "${ours_release[@]}")"
note "medians of $rounds rounds (by hand prepare ${hand_prepare[*]}, release ${hand_release[*]}; ours prepare ${ours_prepare[*]}, release ${ours_release[*]})"
note "prepare: ours $our_prepare s, bash $bash_prepare s, by hand $base_prepare s; ours/by-hand $(ratio "$our_prepare" "$base_prepare"), bash/by-hand $(ratio "$bash_prepare" "$base_prepare"), ours/bash $(ratio "$our_prepare" "$bash_prepare")"
note "release: ours $our_release s, bash $bash_release s, by hand $base_release s; ours/by-hand $(ratio "$our_release" "$base_release"), bash/by-hand $(ratio "$bash_release" "$base_release"), ours/bash $(ratio "$our_release" "$bash_release")"
