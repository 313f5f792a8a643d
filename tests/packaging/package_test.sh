#!/usr/bin/env bash
# The .deb: builds it with CPack from this build tree, inspects its contents and control data,
# unpacks it into a scratch root and checks the unit there (systemd-analyze verify, and a
# security exposure score <= 2.0), that the packaged binary accepts the packaged config, and that
# mosquitto accepts the packaged broker snippet. Usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/tidemark-package-XXXXXX)
trap 'kill "${mosq_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/tidemark_*.deb)
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/tidemark ./usr/lib/systemd/system/tidemark.service ./etc/tidemark/tidemark.toml \
            ./usr/share/tidemark/mosquitto-tidemark.conf ./usr/share/doc/tidemark/README.md \
            ./usr/share/doc/tidemark/docs/OPERATING.md; do
  grep -q " $path\$" <<<"$contents" || fail "$path is not in the package"
done
grep -q ' ./usr/bin/tidemark$' <<<"$(grep -- '-rwxr-xr-x' <<<"$contents")" || fail "tidemark is not executable"

control=$(dpkg-deb -f "$deb")
grep -q '^Package: tidemark$' <<<"$control" || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpaho-mqttpp3 libpaho-mqtt1.3 libsqlite3 libcpp-httplib libsystemd0 libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -e "$deb" "$work/control"
grep -qx '/etc/tidemark/tidemark.toml' "$work/control/conffiles" || fail "the config is not a conffile"
grep -q 'systemctl enable tidemark.service' "$work/control/postinst" || fail "postinst does not enable the unit"

# Installable here: apt resolves the package's dependencies against this machine's archive
# (a simulation: nothing is installed).
apt-get install -s "$deb" >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get cannot install it"; }
grep -q '^Inst tidemark ' "$work/apt.log" || { cat "$work/apt.log"; fail "apt-get would not install tidemark"; }

root="$work/root"
dpkg-deb -x "$deb" "$root"
unit="$root/usr/lib/systemd/system/tidemark.service"
# verify checks that ExecStart is executable: point a copy of the unit at the unpacked binary.
sed "s#^ExecStart=/usr/bin/tidemark#ExecStart=$root/usr/bin/tidemark#" "$unit" > "$work/tidemark.service"
systemd-analyze verify "$work/tidemark.service" || fail "systemd-analyze verify"
score=$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
echo "exposure score $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' || fail "exposure score $score > 2.0"

"$root/usr/bin/tidemark" --version
out=$("$root/usr/bin/tidemark" --config "$root/etc/tidemark/tidemark.toml" --check-config)
grep -q ': OK, 1 pipeline(s)$' <<<"$out" || fail "the packaged config does not check: $out"

# The broker snippet, on a free port instead of 1883, with persistence in the scratch dir.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s/^listener 1883 127.0.0.1/listener $port 127.0.0.1/" "$root/usr/share/tidemark/mosquitto-tidemark.conf" > "$work/mosquitto.conf"
printf 'persistence_location %s/\n' "$work" >> "$work/mosquitto.conf"
grep -Eq '^max_queued_messages ([0-9]+)' "$work/mosquitto.conf"
queued=$(sed -n 's/^max_queued_messages \([0-9]*\)/\1/p' "$work/mosquitto.conf")
[ "$queued" -ge 3600000 ] || fail "max_queued_messages $queued is less than an hour of 1,000 devices at 1/s"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
mosq_pid=$!
for _ in $(seq 50); do
  if mosquitto_pub -h 127.0.0.1 -p "$port" -t probe -m x -q 1 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
[ "${ok:-}" = 1 ] || { cat "$work/mosquitto.log"; fail "mosquitto did not accept the snippet"; }
echo "1 passed, 0 failed"
