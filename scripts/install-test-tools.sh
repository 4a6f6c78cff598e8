#!/usr/bin/env bash
# Installs, on Debian/Ubuntu, the programs some tests drive (run as root, or through sudo):
# redis-server, promtool (package prometheus), prometheus-alertmanager and amtool, sipp (package sip-tester),
# tcpdump, tshark, iproute2 (ip netns), nftables, chromium, kamailio (and its rtpengine module),
# rtpengine-daemon, GStreamer (gst-launch-1.0, rtpbin in plugins-good, netsim in plugins-bad); and gcc, which `npm ci` uses to build the
# native UDP receiver (a test checks it was built; the benches' load generator is C too).
# Installs only what is missing; prints what it found. `.ci/run` runs it before `npm test`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v promtool >/dev/null || need+=(prometheus)
# prometheus-alertmanager brings amtool too (documented-configs.test.ts runs amtool check-config)
{ command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null; } || need+=(prometheus-alertmanager)
command -v sipp >/dev/null || need+=(sip-tester)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v ip >/dev/null || need+=(iproute2)
command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
# the media end-to-end test: rtpengine relaying Kamailio's media, GStreamer endpoints, nftables loss
command -v rtpengine >/dev/null || need+=(rtpengine-daemon)
# Kamailio's http_client module (docs/routing.md's lines, checked by documented-configs.test.ts)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/http_client.so ] || ls /usr/lib/*/kamailio/modules/http_client.so >/dev/null 2>&1 || need+=(kamailio-utils-modules)
command -v nft >/dev/null || need+=(nftables)
command -v gst-launch-1.0 >/dev/null || need+=(gstreamer1.0-tools)
{ command -v gst-inspect-1.0 >/dev/null && gst-inspect-1.0 rtpbin >/dev/null 2>&1; } || need+=(gstreamer1.0-plugins-good)
{ command -v gst-inspect-1.0 >/dev/null && gst-inspect-1.0 netsim >/dev/null 2>&1; } || need+=(gstreamer1.0-plugins-bad)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v cc >/dev/null || need+=(gcc libc6-dev)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-test-tools: every tool the tests drive is there"
  exit 0
fi
echo "install-test-tools: installing ${need[*]}"
# tshark asks whether non-root users may capture: answer no, without a prompt
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
