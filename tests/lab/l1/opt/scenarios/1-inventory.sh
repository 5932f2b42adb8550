# Scenario 1: on a real kernel, `list --all --json` and `groups --json` show the fake GPU's four
# functions in one IOMMU group, with the classes, reset methods and drivers the kernel reports.
source /opt/lab/lib.sh

step "passthrough list --all --json"
t=$(now); list="$(passthrough list --all --json)"; note "list --all --json took $(elapsed "$t") s"
step "passthrough groups --json"
groups="$(passthrough groups --json)"

group="$(basename "$(readlink "/sys/bus/pci/devices/$GPU_VGA/iommu_group")")"
[ -n "$group" ] || fail "the kernel put $GPU_VGA in no IOMMU group (is intel_iommu=on in effect?)"
# One line per function of the slot: address|class|driver|group|resetMethods|bootVga.
rows="$(echo "$list" | jq -r --arg s "$GPU_SLOT." '.devices[] | select(.address | startswith($s))
  | [.address, .classCode, (.driver // "-"), (.iommuGroup // "-" | tostring), ((.resetMethods // []) | join(",")), (.bootVga | tostring)] | join("|")')"
echo "$rows"
[ "$(echo "$rows" | wc -l)" -eq 4 ] || fail "list --all --json shows $(echo "$rows" | wc -l) functions in $GPU_SLOT, expected 4"
i=0
while IFS='|' read -r addr class driver grp resets bootvga; do
  f="${GPU_FUNCS[$i]}"; sys="/sys/bus/pci/devices/$f"
  [ "$addr" = "$f" ] || fail "function $i of $GPU_SLOT is listed as $addr, expected $f"
  [ "$class" = "$(cut -c3-8 "$sys/class")" ] || fail "$f: classCode $class, the kernel says $(cut -c3-8 "$sys/class")"
  [ "$driver" = "${ORIGINAL_DRIVERS[$i]}" ] || fail "$f: driver $driver, expected ${ORIGINAL_DRIVERS[$i]} (kernel: $(driver_of "$f"))"
  [ "$grp" = "$group" ] || fail "$f: iommuGroup $grp, the kernel says $group"
  # The kernel hides reset_method when a function has no reset method at all.
  kernel_resets="$( { cat "$sys/reset_method" 2>/dev/null || true; } | tr ' ' ',')"
  [ "$resets" = "$kernel_resets" ] || fail "$f: resetMethods '$resets', the kernel's reset_method says '$kernel_resets'"
  want_boot=false; [ "$f" = "$GPU_VGA" ] && want_boot=true
  [ "$bootvga" = "$want_boot" ] || fail "$f: bootVga $bootvga, expected $want_boot"
  i=$((i + 1))
done <<< "$rows"
# Only function 0 can be reset (bus reset through the root port).
[ "$(echo "$rows" | cut -d'|' -f5 | paste -sd' ')" = "bus   " ] || fail "reset methods are '$(echo "$rows" | cut -d'|' -f5 | paste -sd' ')', expected only function 0 with bus"

g="$(echo "$groups" | jq -r --argjson id "$group" '.groups[] | select(.id == $id) | [(.devices | sort | join(" ")), .type, (.viable | tostring), (.reason // "")] | join("|")')"
echo "$g"
IFS='|' read -r members type viable reason <<< "$g"
[ "$members" = "${GPU_FUNCS[*]}" ] || fail "group $group members are '$members', expected '${GPU_FUNCS[*]}'"
kernel_type="$(cat "/sys/kernel/iommu_groups/$group/type")"
[ "$type" = "$kernel_type" ] || fail "group $group type $type, the kernel says $kernel_type"
[ "$viable" = true ] || fail "group $group should be viable: $reason"

step "passthrough list (the GPU view a user reads)"
out="$(passthrough list)"; echo "$out"
echo "$out" | grep -q "GPU $GPU_SLOT" || fail "'passthrough list' does not show GPU $GPU_SLOT"
echo "$out" | grep -q "boot display" || fail "'passthrough list' does not mark the boot display"
for d in "${ORIGINAL_DRIVERS[@]}"; do echo "$out" | grep -q -- "$d" || fail "'passthrough list' does not show driver $d"; done
note "group $group ($kernel_type): ${GPU_FUNCS[*]} on $(drivers); reset: $(echo "$rows" | cut -d'|' -f5 | sed 's/^$/none/' | paste -sd' ')"
