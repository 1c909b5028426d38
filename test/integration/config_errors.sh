#!/usr/bin/env bash
# A bad lstack.conf: the program's first socket() fails, stderr says once which
# file, line and key are wrong and what is allowed, and the program (gz-echo,
# which gives up when socket() fails) exits non-zero. No DPDK port is touched.
#   config_errors.sh GZ_ECHO
set -u
echo_bin=$1
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || gz_skip "needs root (DPDK for the port check)"
dir=$(mktemp -d)
status=0
good='dpdk_args = ["--no-pci", "--in-memory", "--vdev", "net_null0"];
num_cpus = "0";
host_addr = "192.168.250.1";
mask_addr = "255.255.255.0";
devices = "02:00:00:00:00:01";'
# name | extra line(s) | expected text in stderr
cases=(
  "unknown key|tcp_conn_cnt = 10;|:6: unknown key 'tcp_conn_cnt' (did you mean 'tcp_conn_count'?)"
  "wrong type|low_power_mode = \"yes\";|:6: low_power_mode = \"yes\": must be 0 or 1"
  "out of range|tcp_conn_count = 70000;|:6: tcp_conn_count = 70000: must be an integer from 1 to 65535"
  "gateway outside|gateway_addr = \"10.1.1.1\";|:6: gateway_addr: \"10.1.1.1\" is not another address in host_addr's subnet"
  "syntax|num_cpus = ;|:6: syntax error"
  "no such port||devices: no DPDK port has MAC 02:00:00:00:00:01"
  # (a case whose line is a dpdk_args replaces the good one, on line 1)
  "memory below the pools|dpdk_args = [\"--no-pci\", \"--legacy-mem\", \"--socket-mem\", \"64\", \"--vdev\", \"net_null0\"];|:1: dpdk_args: they give DPDK 64 MiB (--socket-mem or -m with --legacy-mem or --no-huge), but 1 stack(s) of 48000 mbufs of 2496 bytes + 8 MiB each need 123 MiB"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name extra want <<<"$c"
  if [[ $extra == dpdk_args* ]]; then
    printf '%s\n%s\n' "$extra" "${good#*$'\n'}" > "$dir/lstack.conf"
  else
    printf '%s\n%s\n' "$good" "$extra" > "$dir/lstack.conf"
  fi
  LSTACK_CONF_PATH="$dir/lstack.conf" GAZELLE_RUN_DIR="$dir" timeout 60 "$echo_bin" server 7 >"$dir/out" 2>&1
  rc=$?
  if [ $rc != 0 ] && grep -qF -- "$want" "$dir/out" && [ "$(grep -c '^lstack: ' "$dir/out")" = 1 ]; then
    echo "ok: $name: exit $rc, $(grep '^lstack: ' "$dir/out")"
  else
    echo "FAIL: $name: exit $rc, wanted \"$want\" once; got:"; cat "$dir/out"; status=1
  fi
done
exit $status
