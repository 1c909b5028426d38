# shellcheck shell=bash
# tools/bench ltran-scale: many connections over six echo servers behind one ltran.

# Six gz-echo servers behind one ltran, each at an address of its own and run
# unprivileged (--no-huge), CONNS/6 connections each from a scale.py client of
# its own (two peer addresses each), held HOLD seconds with exchanges now and
# then (test/integration/scale.py): all must connect and answer. One process
# alone is capped at the machine's fd limit (20,000 here): six are not.
bench_ltran_scale() {
  local per=$(( (conns + 5) / 6 )) i a lib=$root/build/test/integration/gz-echo out t0 t1
  gz_setup bench-ltscale 139
  run_dir=$(mktemp -d)
  for i in $(seq 1 12); do ip -n "$GZ_NS_P" addr add "${GZ_PEER%.*}.$((100 + i))/24" dev "$GZ_IF_P"; done
  ltran_conf=$(mktemp)
  gz_ltran_conf "$ltran_conf" 0
  GZ_RUN_DIR=$run_dir gz_ltran_start "$root/build/ltran/ltran" "$ltran_conf" "$run_dir/ltran.log"
  ulimit -n $((per + 300))
  for i in $(seq 1 6); do
    gz_ltran_lstack_conf "$run_dir/l$i.conf" "${GZ_HOST%.*}.$((10 + i))"
    sed -i "s/\"256\"/\"400\"/; s/^tcp_conn_count = .*/tcp_conn_count = $((per + 100));/; s/^mbuf_count_per_conn = .*/mbuf_count_per_conn = 4;/" "$run_dir/l$i.conf"
    gz_bg ip netns exec "$GZ_NS_L" env -u MALLOC_PERTURB_ GAZELLE_RUN_DIR="$run_dir" LSTACK_CONF_PATH="$run_dir/l$i.conf" \
      "$lib" server 7 >"$run_dir/s$i.log" 2>&1
    gz_wait_line "$run_dir/s$i.log" ready 60 || { cat "$run_dir/s$i.log"; echo "bench: server $i did not start" >&2; exit 1; }
  done
  t0=$(date +%s)
  local clients=()
  for i in $(seq 1 6); do
    a=${GZ_PEER%.*}
    gz_bg ip netns exec "$GZ_NS_P" /usr/bin/python3 test/integration/scale.py "${GZ_HOST%.*}.$((10 + i))" 7 "$per" "$hold" \
      "$a.$((100 + 2 * i - 1))" "$a.$((100 + 2 * i))" >"$run_dir/c$i.log" 2>&1
    clients+=("${GZ_PIDS[-1]}")
  done
  # A client that died (a reset, a timeout) is not waited for.
  for i in $(seq 1 6); do gz_wait_server "${clients[$((i - 1))]}" "$run_dir/c$i.log" holding 900 || true; done
  t1=$(date +%s)
  GAZELLE_RUN_DIR=$run_dir build/ctl/gazellectl ltran show >"$run_dir/show.txt" 2>&1
  GAZELLE_RUN_DIR=$run_dir build/ctl/gazellectl ltran show -i >"$run_dir/show_i.txt" 2>&1
  local rss=0
  for p in $(awk 'NR > 1 {print $2}' "$run_dir/show_i.txt"); do rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status"))); done
  local ltran_rss; ltran_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$GZ_LTRAN_PID/status")
  for i in $(seq 1 6); do wait "${GZ_PIDS[-$i]}" 2>/dev/null || true; done
  for i in $(seq 1 6); do  # each server's own view: resets, retransmissions, drops
    GAZELLE_RUN_DIR=$run_dir build/ctl/gazellectl lstack show "${GZ_HOST%.*}.$((10 + i))" -s >"$run_dir/mib$i.txt" 2>&1
    GAZELLE_RUN_DIR=$run_dir build/ctl/gazellectl lstack show "${GZ_HOST%.*}.$((10 + i))" -a >"$run_dir/all$i.txt" 2>&1
  done
  for i in $(seq 1 6); do unset 'GZ_PIDS[-1]'; done  # the clients, waited for above
  # Stopped as users stop them (SIGTERM): the servers one after another, then ltran.
  local stops="" pid rc
  for i in $(seq 6 -1 0); do
    pid=${GZ_PIDS[-1]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    stops+="$([ "$i" = 0 ] && echo ltran || echo "server $i") $rc, "
    unset 'GZ_PIDS[-1]'
  done
  out=$(result_path ltran-scale)
  {
    result_head ltran-scale "$conns connections over six lstack processes behind one ltran" "ltran-scale $conns $hold"
    echo "- six gz-echo servers (build/test/integration/gz-echo, TCP echo on port 7), each behind ltran at an address of its own,"
    echo "  \`--no-huge\` (unprivileged form), tcp_conn_count $((per + 100)), mbuf_count_per_conn 4, a stack thread each;"
    echo "  ltran on net_af_packet; clients: six test/integration/scale.py (kernel, peer namespace), $per connections each"
    echo "  from two addresses of their own, every one answering once, then ${hold} s of 1000 exchanges every 0.5 s each"
    echo "- all connected (\`holding\`) after $((t1 - t0)) s"
    echo "- RSS of the six lstack processes together: $((rss / 1024)) MiB ($((rss * 1024 / conns)) bytes per connection); ltran: $((ltran_rss / 1024)) MiB"
    echo
    echo "- exit status at SIGTERM (0 is clean; 137 killed after 10 s): ${stops%, }"
    echo
    echo '```'
    cat "$run_dir/show.txt" "$run_dir/show_i.txt"
    echo '```'
    echo
    for i in $(seq 1 6); do echo "client $i:"; echo '```'; cat "$run_dir/c$i.log"; echo '```'; done
    echo
    echo "Each server's counters after the hold (\`gazellectl lstack show IP -s\`, then the non-zero ones of \`-a\`):"
    for i in $(seq 1 6); do
      echo '```'
      cat "$run_dir/mib$i.txt"
      tr -s ' ' '\n' <"$run_dir/all$i.txt" | paste - - 2>/dev/null | awk '$2 ~ /^[0-9]+$/ && $2 != 0' | paste -sd' ' | fold -s -w 118
      echo '```'
    done
  } >"$out"
  cat "$out"
  echo "bench: written to $out"
  rm -rf "$run_dir" "$ltran_conf" "$conf" "$log" "$raw"
}
