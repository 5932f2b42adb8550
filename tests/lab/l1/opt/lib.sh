# Shared by the lab scenarios (sourced). Verdicts: `fail REASON` ends the scenario as FAIL REASON;
# `note TEXT` adds an "INFO name: TEXT" line to the results port; exit 0 is PASS.
set -euo pipefail
export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
RESULTS="${LAB_RESULTS:-/dev/null}"
REASON="${LAB_REASON:-/dev/null}"

fail() { echo "FAIL: $*" >&2; echo "$*" > "$REASON"; exit 1; }
note() { echo "INFO: $*"; echo "INFO ${LAB_NAME:-?}: $*" > "$RESULTS"; }
step() { echo "== $*"; }
trap 'rc=$?; [ $rc -ne 0 ] && [ ! -s "$REASON" ] && echo "command failed (status $rc) at line $LINENO: $BASH_COMMAND" > "$REASON"' EXIT

# Seconds since the epoch with nanoseconds; `elapsed START` prints seconds since START (3 decimals).
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# The fake GPU: the bochs VGA (1234:1111) and the other functions of its bus:device.
GPU_VGA=""
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1234:0x1111" ]; then GPU_VGA="$(basename "$d")"; break; fi
done
[ -n "$GPU_VGA" ] || fail "no bochs VGA (1234:1111) in L1: is the fake GPU on the QEMU command line?"
GPU_SLOT="${GPU_VGA%.*}"
GPU_FUNCS=("$GPU_SLOT.0" "$GPU_SLOT.1" "$GPU_SLOT.2" "$GPU_SLOT.3")
# The drivers the kernel binds at boot (issue 7): bochs-drm, snd_hda_intel, xhci_hcd, serial.
ORIGINAL_DRIVERS=(bochs-drm snd_hda_intel xhci_hcd serial)

driver_of() { local l="/sys/bus/pci/devices/$1/driver"; if [ -e "$l" ]; then basename "$(readlink "$l")"; else echo "-"; fi; }
drivers() { local f; for f in "${GPU_FUNCS[@]}"; do printf '%s ' "$(driver_of "$f")"; done | sed 's/ $//'; }
expect_drivers() {  # expect_drivers WHEN DRIVER...
  local when="$1"; shift; local got; got="$(drivers)"
  [ "$got" = "$*" ] || fail "$when: drivers are '$got', expected '$*'"
}
all_vfio() { echo "vfio-pci vfio-pci vfio-pci vfio-pci"; }
wait_for() {  # wait_for SECONDS COMMAND...: true once COMMAND succeeds
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 0.2; done
}

# Libvirt's view of the four functions, in libvirt's address form.
hostdevs_xml() {
  local f bus slot fn
  for f in "${GPU_FUNCS[@]}"; do
    bus="${f:5:2}"; slot="${f:8:2}"; fn="${f:11:1}"
    echo "    <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x$bus' slot='0x$slot' function='0x$fn'/></source></hostdev>"
  done
}
# domain_xml NAME [MODE [EXTRA-CONFIG-XML [WITH-HOSTDEVS]]]: the L2 guest (TCG, q35, 64 MiB, no boot
# device, no video). MODE empty = no Passthrough metadata.
domain_xml() {
  local name="$1" mode="${2:-}" extra="${3:-}" devs="${4:-yes}"
  echo "<domain type='qemu'>"
  printf '  <name>%s</name>\n' "$(printf '%s' "$name" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e "s/'/\&apos;/g" -e 's/"/\&quot;/g')"
  echo "  <memory unit='MiB'>64</memory><vcpu>1</vcpu>"
  if [ -n "$mode" ]; then
    echo "  <metadata><passthrough:config xmlns:passthrough='urn:passthrough:1' mode='$mode'>$extra</passthrough:config></metadata>"
  fi
  echo "  <os><type arch='x86_64' machine='q35'>hvm</type></os>"
  echo "  <features><acpi/></features><on_poweroff>destroy</on_poweroff><on_crash>destroy</on_crash>"
  echo "  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
  echo "    <video><model type='none'/></video><memballoon model='none'/>"
  [ "$devs" = yes ] && hostdevs_xml
  echo "  </devices>"
  echo "</domain>"
}

# Whether this build of passthrough has a verb (the hooks issue lands in parts).
has_verb() { passthrough "$@" --help >/dev/null 2>&1; }
need_verb() { has_verb "$@" || fail "not available yet: 'passthrough $*' is not in this build"; }
hook_installed() { ls /etc/libvirt/hooks/qemu.d/* >/dev/null 2>&1; }

# Puts every function back on its boot driver by hand (sysfs only), so one failed scenario does not
# take the next ones down with it.
reset_host_by_hand() {
  local i f
  for i in 0 1 2 3; do
    f="${GPU_FUNCS[$i]}"
    [ "$(driver_of "$f")" = "${ORIGINAL_DRIVERS[$i]}" ] && continue
    [ -e "/sys/bus/pci/devices/$f/driver" ] && echo "$f" > "/sys/bus/pci/devices/$f/driver/unbind" || true
    echo > "/sys/bus/pci/devices/$f/driver_override" || true
    echo "$f" > /sys/bus/pci/drivers_probe || true
  done
  for v in /sys/class/vtconsole/vtcon*; do
    grep -q 'frame buffer' "$v/name" 2>/dev/null && echo 1 > "$v/bind" 2>/dev/null || true
  done
  systemctl start display-manager.service 2>/dev/null || true
}
