# Scenario 7: a VM without our metadata and a VM with a hostile name: the hook does nothing, quickly,
# and no part of the name is ever run.
source /opt/lab/lib.sh
need_hooks
# (libvirt refuses '/' in names; the hook runs in / and the scenario too: a run `touch` leaves /pwned.)
hostile="lab \$(touch pwned) 'q' \"d\" ; \`touch pwned\` ü"
before="$(drivers)"
plain_xml="$(domain_xml "$hostile" "" "" no)"

t=$(now); passthrough --version > /dev/null; t_version="$(elapsed "$t")"
step "the installed hook on a domain without metadata, as libvirt calls it"
lines_before="$( { wc -l < "$LOG"; } 2>/dev/null || echo 0)"
for op in "prepare begin" "start begin" "started begin" "stopped end" "release end"; do
  t=$(now)
  out="$(printf '%s\n' "$plain_xml" | "$HOOK" "$hostile" $op - 2>&1)" || fail "the hook exited non-zero for '$op'"
  took="$(elapsed "$t")"
  [ -z "$out" ] || fail "the hook printed something for a domain without metadata: $out"
done
# "Quickly" = without starting passthrough, whose every `hook qemu` run logs its first line. (The native
# binary starts about as fast as the script's own shell, so a time comparison no longer tells.)
[ "$( { wc -l < "$LOG"; } 2>/dev/null || echo 0)" = "$lines_before" ] || fail "passthrough ran (and logged) for a domain without metadata"
note "no-metadata hook call: $took s; passthrough --version: $t_version s"

step "the installed hook on a domain WITH our metadata, for the calls passthrough does not act on"
meta_xml="$(domain_xml "$hostile" dynamic "" no)"
lines_before="$( { wc -l < "$LOG"; } 2>/dev/null || echo 0)"
for op in "start begin" "started begin" "stopped end" "migrate begin" "restore begin" "reconnect begin" "attach begin"; do
  t=$(now)
  out="$(printf '%s\n' "$meta_xml" | "$HOOK" "$hostile" $op - 2>&1)" || fail "the hook exited non-zero for '$op'"
  took="$(elapsed "$t")"; [ "$op" != "start begin" ] || took_start="$took"
  [ -z "$out" ] || fail "the hook printed something for '$op': $out"
done
[ "$( { wc -l < "$LOG"; } 2>/dev/null || echo 0)" = "$lines_before" ] || fail "passthrough ran (and logged) for a call it does not act on"
note "start begin on our domain (no passthrough start): $took_start s"

step "virsh start/destroy of the hostile-named VM without metadata"
lines_before="$( { wc -l < "$LOG"; } 2>/dev/null || echo 0)"
define "$hostile" "$plain_xml"
virsh start "$hostile" 2> /tmp/start.err || fail "virsh start of the hostile name failed: $(tr '\n' ' ' < /tmp/start.err)"
virsh destroy "$hostile" > /dev/null 2> /tmp/destroy.err || fail "virsh destroy failed: $(tr '\n' ' ' < /tmp/destroy.err)"
virsh -q undefine "$hostile"
[ "$( { wc -l < "$LOG"; } 2>/dev/null || echo 0)" = "$lines_before" ] || fail "the hook logged for a VM without metadata"

step "the hostile name with our metadata (no devices): refused, named verbatim, never run"
if printf '%s\n' "$meta_xml" | "$HOOK" "$hostile" prepare begin - 2> /tmp/prepare.err; then
  printf '%s\n' "$meta_xml" | "$HOOK" "$hostile" release end - || fail "release for the hostile name exited $?"
else
  cat /tmp/prepare.err
  grep -qF "$hostile" /tmp/prepare.err || fail "the error does not name the VM verbatim: $(cat /tmp/prepare.err)"
fi
grep -qF "hook qemu $hostile prepare begin" "$LOG" || fail "the log does not show the hostile name verbatim"
[ ! -e /pwned ] || fail "a command in the VM name was run (/pwned exists)"
[ "$(drivers)" = "$before" ] || fail "drivers changed: $(drivers), were $before"
