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
# (`--help` of an unknown verb still exits 0, so look for the verb in its parent's help; cached per run.)
has_verb() {
  local parent=() word cache
  for word in "$@"; do
    cache="/run/lab/help${parent[*]:+-${parent[*]// /-}}"
    [ -f "$cache" ] || passthrough "${parent[@]}" --help > "$cache" 2>&1 || true
    grep -qE "^[[:space:]]+$word([[:space:],]|$)" "$cache" || return 1
    parent+=("$word")
  done
}
need_verb() { has_verb "$@" || fail "not available yet: 'passthrough $*' is not in this build"; }
hook_installed() { ls /etc/libvirt/hooks/qemu.d/* >/dev/null 2>&1; }

# Puts every function back on its boot driver by hand (sysfs only), so one failed scenario does not
# take the next ones down with it.
reset_host_by_hand() {
  local i f
  for i in 0 1 2 3; do
    f="${GPU_FUNCS[$i]}"
    [ -n "$(override_of "$f")" ] || [ "$(driver_of "$f")" != "${ORIGINAL_DRIVERS[$i]}" ] || continue
    [ -e "/sys/bus/pci/devices/$f/driver" ] && echo "$f" > "/sys/bus/pci/devices/$f/driver/unbind" || true
    echo > "/sys/bus/pci/devices/$f/driver_override" || true
    echo "$f" > /sys/bus/pci/drivers_probe || true
  done
  for v in /sys/class/vtconsole/vtcon*; do
    grep -q 'frame buffer' "$v/name" 2>/dev/null && echo 1 > "$v/bind" 2>/dev/null || true
  done
  systemctl start display-manager.service 2>/dev/null || true
}

# The hook as libvirt runs it, and libvirtd noticing it (scenarios install it when an earlier one did not).
HOOK=/etc/libvirt/hooks/qemu.d/50-passthrough
LOG=/var/log/passthrough/passthrough.log
need_hooks() {
  need_verb hooks install
  need_verb hook qemu
  if ! [ -x "$HOOK" ]; then
    passthrough hooks install || fail "passthrough hooks install failed"
    systemctl restart libvirtd.service
  fi
}
# define NAME XML: defines the domain (replacing an old one of the same name).
define() {
  local f; f="$(mktemp /tmp/domain.XXXXXX.xml)"; printf '%s\n' "$2" > "$f"
  virsh -q undefine "$1" >/dev/null 2>&1 || true
  virsh -q define "$f" >/dev/null || fail "virsh define of '$1' failed: $(virsh define "$f" 2>&1 | tail -n1)"
}
vm_state() { virsh domstate "$1" 2>/dev/null | head -n1; }
dm_active() { [ "$(systemctl is-active display-manager.service)" = active ]; }
dm_inactive() { [ "$(systemctl is-active display-manager.service)" != active ]; }
fb_vtcon() { local v; for v in /sys/class/vtconsole/vtcon*; do grep -q 'frame buffer' "$v/name" 2>/dev/null && { echo "$v"; return 0; }; done; return 0; }
# driver_override as a user would read it: the kernel shows "(null)" when none is set.
override_of() { local o; o="$(cat "/sys/bus/pci/devices/$1/driver_override")"; [ "$o" = "(null)" ] || echo "$o"; }
# What a user sees after a VM: drivers back, frame-buffer console bound, display manager up on card0.
expect_desktop() {  # expect_desktop WHEN
  expect_drivers "$1" "${ORIGINAL_DRIVERS[@]}"
  local v; v="$(fb_vtcon)"
  [ -n "$v" ] || fail "$1: no frame-buffer vtconsole (fbcon did not come back)"
  [ "$(cat "$v/bind")" = 1 ] || fail "$1: $(basename "$v") ($(cat "$v/name")) is not bound"
  wait_for 60 dm_active || fail "$1: the display manager is $(systemctl is-active display-manager.service)"
  [ -e /dev/dri/card0 ] || fail "$1: /dev/dri/card0 is gone ($(ls /dev/dri 2>/dev/null | paste -sd' '))"
  [ ! -e /dev/dri/card1 ] || fail "$1: the card came back as card1 (a dead descriptor still holds card0)"
  local pid; pid="$(systemctl show -p MainPID --value display-manager.service)"
  [ "$(readlink "/proc/$pid/fd/3" 2>/dev/null)" = /dev/dri/card0 ] || fail "$1: the display manager does not hold /dev/dri/card0"
}
# Writes that bypass Passthrough, for setting a scene: FUNC to DRIVER through driver_override.
bind_by_hand() {  # bind_by_hand FUNC DRIVER
  local d="/sys/bus/pci/devices/$1"
  echo "$2" > "$d/driver_override"
  [ -e "$d/driver" ] && echo "$1" > "$d/driver/unbind"
  echo "$1" > /sys/bus/pci/drivers_probe
}
