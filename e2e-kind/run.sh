#!/usr/bin/env bash
# Bulkhead end to end on kind: a 3-node cluster with Flannel, Bulkhead installed from daemonset/ with an image
# built from this tree, then the seed demos replayed with kubectl run/exec, wget and nc (steps.txt), a
# `bulkhead agent explain` of a denial and the drop counter it raised. Deletes the cluster on exit
# (KEEP_CLUSTER=1 keeps it). Needs docker, kind, kubectl, curl, and br_netfilter loaded on the host.
# See e2e-kind/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
STEPS_DIR="$REPO/examples/three-tier/steps"
CLUSTER=bulkhead-e2e
# The image e2e-kind/overlay/kustomization.yaml installs.
IMAGE=bulkhead:e2e
OUTSIDE="$CLUSTER-outside"
FLANNEL_MANIFEST=https://github.com/flannel-io/flannel/releases/download/v0.26.3/kube-flannel.yml
# Flannel delegates to the bridge plugin, which kind's node image does not ship.
CNI_PLUGINS_VERSION=v1.4.0
SYNC_TIMEOUT_SECONDS=60

work=$(mktemp -d)
failures=0
checks=0
sync_round=0

k() { kubectl --context "kind-$CLUSTER" "$@"; }
log() { printf '\n== %s\n' "$*"; }

fail() {
  printf 'e2e-kind: %s\n' "$*" >&2
  k -n bulkhead-system logs -l app.kubernetes.io/name=bulkhead --prefix --tail=20 >&2 || true
  exit 1
}

cleanup() {
  rm -rf "$work"
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    echo "kept: kind cluster $CLUSTER (kubectl --context kind-$CLUSTER), container $OUTSIDE"
    return
  fi
  docker rm -f "$OUTSIDE" >/dev/null 2>&1 || true
  kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
}

preflight() {
  local tool
  for tool in docker kind kubectl curl tar; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
  done
  # Pod-to-pod traffic on one node crosses the cni0 bridge; it reaches the inet forward hook only through
  # br_netfilter, as on every kubeadm node.
  [ -d /proc/sys/net/bridge ] || fail "br_netfilter is not loaded on this host: sudo modprobe br_netfilter"
}

create_cluster() {
  log "kind cluster $CLUSTER without its default CNI"
  kind create cluster --name "$CLUSTER" --config "$HERE/kind-config.yaml"
}

install_flannel() {
  local arch node
  log "Flannel ($FLANNEL_MANIFEST)"
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "no CNI plugins build for $(uname -m)" ;;
  esac
  curl -fsSL "https://github.com/containernetworking/plugins/releases/download/$CNI_PLUGINS_VERSION/cni-plugins-linux-$arch-$CNI_PLUGINS_VERSION.tgz" |
    tar -xz -C "$work"
  while read -r node; do
    docker cp "$work/bridge" "$node:/opt/cni/bin/bridge"
    docker exec "$node" sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
  done < <(kind get nodes --name "$CLUSTER")
  k apply -f "$FLANNEL_MANIFEST"
  k -n kube-flannel rollout status ds/kube-flannel-ds --timeout=180s
  k wait --for=condition=Ready nodes --all --timeout=180s
}

install_bulkhead() {
  log "Bulkhead: image $IMAGE, kubectl apply -k (daemonset/ through e2e-kind/overlay)"
  docker build -t "$IMAGE" "$REPO"
  kind load docker-image "$IMAGE" --name "$CLUSTER"
  k apply -k "$HERE/overlay"
  k -n bulkhead-system rollout status ds/bulkhead --timeout=180s
}

# A host outside the cluster at 203.0.113.10 and .20 (documentation addresses, the ones step 5 allows and
# excepts), serving 80 and 443, routed from every node.
start_outside_host() {
  local address node
  log "outside host $OUTSIDE at 203.0.113.10 and 203.0.113.20"
  docker run -d --name "$OUTSIDE" --network kind --cap-add NET_ADMIN busybox:1.36 sh -c \
    'ip addr add 203.0.113.10/32 dev eth0 && ip addr add 203.0.113.20/32 dev eth0 && mkdir -p /www &&
     echo outside > /www/index.html && httpd -p 80 -h /www && exec httpd -f -p 443 -h /www' >/dev/null
  address=$(docker inspect -f '{{(index .NetworkSettings.Networks "kind").IPAddress}}' "$OUTSIDE")
  while read -r node; do
    docker exec "$node" ip route replace 203.0.113.0/24 via "$address"
  done < <(kind get nodes --name "$CLUSTER")
}

start_workloads() {
  local ns
  log "workloads: the frontend the seeds' way, the rest from e2e-kind/workloads.yaml"
  k apply -f "$HERE/workloads.yaml" -f "$HERE/sync-marker.yaml"
  k run frontend --image=busybox:1.36 --labels="app=frontend" \
    --overrides='{"apiVersion":"v1","spec":{"nodeSelector":{"bulkhead-e2e/slot":"b"}}}' -- sleep 3600
  for ns in default monitoring other; do
    k -n "$ns" wait --for=condition=Ready pod --all --timeout=180s
  done
  k -n kube-system wait --for=condition=Ready pod -l k8s-app=kube-dns --timeout=180s
  k get pods -A -o wide
}

# The resourceVersion of the last state an agent reported in force ('rules applied' or 'rules already in force').
synced_version() {
  k -n bulkhead-system logs "$1" | grep -E '"msg":"rules (applied|already in force)"' | tail -n 1 |
    sed -nE 's/.*"resourceVersion":"([0-9]+)".*/\1/p'
}

# Waits until every agent enforces the cluster as it is now. An agent logs the resourceVersion of the state it
# put in force: the oldest of its three watches' (namespaces, pods, NetworkPolicies). One change to an object of
# each kind moves all three watches past every earlier change, so an agent at or past the first of them has
# every earlier change in its rules. (resourceVersions are etcd revisions: numbers that only grow.)
wait_for_agents() {
  local first agent version deadline
  sync_round=$((sync_round + 1))
  first=$(k label namespace default "bulkhead-e2e/sync=$sync_round" --overwrite -o jsonpath='{.metadata.resourceVersion}')
  k -n default label pod frontend "bulkhead-e2e/sync=$sync_round" --overwrite >/dev/null
  k -n bulkhead-e2e label networkpolicy sync-marker "bulkhead-e2e/sync=$sync_round" --overwrite >/dev/null
  for agent in $(k -n bulkhead-system get pods -l app.kubernetes.io/name=bulkhead -o jsonpath='{.items[*].metadata.name}'); do
    deadline=$((SECONDS + SYNC_TIMEOUT_SECONDS))
    until version=$(synced_version "$agent") && [ -n "$version" ] && [ "$version" -ge "$first" ]; do
      [ "$SECONDS" -lt "$deadline" ] || fail "agent $agent did not enforce resourceVersion $first within $SYNC_TIMEOUT_SECONDS s"
      sleep 0.5
    done
  done
}

# Replaces the policies of namespace default (where every step's policies live) with those of these step dirs.
set_policies() {
  local dir
  k -n default delete networkpolicy --all >/dev/null
  for dir in "$@"; do
    k apply -f "$STEPS_DIR/$dir" >/dev/null
  done
  wait_for_agents
}

pod_address() {
  if [ "$1" = kube-system/coredns ]; then
    k -n kube-system get pods -l k8s-app=kube-dns -o jsonpath='{.items[0].status.podIP}'
  else
    k -n "${1%%/*}" get pod "${1#*/}" -o jsonpath='{.status.podIP}'
  fi
}

# in_pod NS/NAME COMMAND...: runs COMMAND in the pod and returns its status. When kubectl itself fails, the run
# stops: a probe that never ran must not pass for a denial.
in_pod() {
  local pod=$1
  shift
  if k -n "${pod%%/*}" exec "${pod#*/}" -- "$@" >/dev/null 2>"$work/exec.err"; then return 0; fi
  grep -q '^command terminated with exit code' "$work/exec.err" || fail "kubectl exec in $pod: $(cat "$work/exec.err")"
  return 1
}

# probe FROM TO PORT/PROTO: succeeds when FROM can open the connection. TCP: nc connects (no data); UDP: a DNS
# query (the UDP probes of steps.txt all go to CoreDNS on 53).
probe() {
  local from=$1 to=$2 port=${3%/*} protocol=${3#*/} address=$2
  if [[ $to == */* ]]; then
    address=$(pod_address "$to") || fail "no pod $to"
    [ -n "$address" ] || fail "pod $to has no address"
  fi
  case "$protocol" in
    TCP) in_pod "$from" nc -z -w 3 "$address" "$port" ;;
    UDP)
      [ "$port" = 53 ] || fail "UDP probes are DNS queries, to port 53; got $3"
      in_pod "$from" timeout 5 nslookup kubernetes.default.svc.cluster.local "$address"
      ;;
    *) fail "no probe for protocol $protocol" ;;
  esac
}

# record OK DESCRIPTION DETAIL: counts a check, prints it; a failed one is remembered and the run goes on.
record() {
  checks=$((checks + 1))
  if [ "$1" = ok ]; then
    printf '  ok    %-62s %s\n' "$2" "$3"
  else
    failures=$((failures + 1))
    printf '  FAIL  %-62s %s\n' "$2" "$3"
  fi
}

# expect WANT DESCRIPTION COMMAND...: a connection check; COMMAND succeeding means allowed.
expect() {
  local want=$1 description=$2 got=denied
  shift 2
  if "$@"; then got=allowed; fi
  if [ "$got" = "$want" ]; then record ok "$description" "$got"; else record failed "$description" "$got, expected $want"; fi
}

# assert DESCRIPTION COMMAND...: any other check.
assert() {
  local description=$1
  shift
  if "$@"; then record ok "$description" ""; else record failed "$description" ""; fi
}

seed_wget() { in_pod default/frontend wget -qO- -T 3 http://backend; }

# The demo of "Understanding Kubernetes: Network Policies", command for command.
replay_seed_demo() {
  log "seed demo: frontend -> http://backend, deny all ingress to the backend, then allow the frontend"
  k expose pod backend --port=80 --target-port=80
  set_policies
  expect allowed "no policy: kubectl exec frontend -- wget http://backend" seed_wget
  set_policies 01-deny-ingress-to-backend
  expect denied "deny-all-ingress-to-backend: the same wget" seed_wget
  set_policies 01-deny-ingress-to-backend 02-allow-frontend-to-backend
  expect allowed "+ allow-frontend-ingress-to-backend: the same wget" seed_wget
}

# Every step of steps.txt: its policies, then each probe against its expected verdict.
replay_steps() {
  local fields
  while read -r -a fields <&3; do
    [ "${#fields[@]}" -eq 0 ] && continue
    [[ ${fields[0]} == \#* ]] && continue
    if [ "${fields[0]}" = step ]; then
      log "step ${fields[1]}: ${fields[*]:2}"
      set_policies "${fields[@]:2}"
      continue
    fi
    expect "${fields[3]}" "${fields[0]} -> ${fields[1]} ${fields[2]}" probe "${fields[0]}" "${fields[1]}" "${fields[2]}"
  done 3<"$HERE/steps.txt"
}

# The agent on the node of POD (ns/name).
agent_for() {
  local node
  node=$(k -n "${1%%/*}" get pod "${1#*/}" -o jsonpath='{.spec.nodeName}')
  k -n bulkhead-system get pods -l app.kubernetes.io/name=bulkhead --field-selector "spec.nodeName=$node" \
    -o jsonpath='{.items[0].metadata.name}'
}

# dropped_packets AGENT NAMESPACE POD DIRECTION: bulkhead_dropped_packets_total of that pod, from the agent's
# /metrics (through the API server's pod proxy: the agent listens on its node's address).
dropped_packets() {
  k get --raw "/api/v1/namespaces/bulkhead-system/pods/$1:9650/proxy/metrics" |
    awk -v ns="namespace=\"$2\"" -v pod="pod=\"$3\"" -v direction="direction=\"$4\"" '
      index($1, "bulkhead_dropped_packets_total{") == 1 && index($1, ns) && index($1, pod) && index($1, direction) { n += $2 }
      END { print n + 0 }'
}

# A denial seen from the node: the backend's agent explains it, and its ingress drop counter rises.
explain_denial() {
  local agent before after explanation
  log "why is frontend -> backend 80/TCP denied? (bulkhead agent explain, drop metrics)"
  set_policies 01-deny-ingress-to-backend
  agent=$(agent_for default/backend) || fail "no agent on the backend's node"
  before=$(dropped_packets "$agent" default backend ingress) || fail "no /metrics from agent $agent"
  expect denied "default/frontend -> default/backend 80/TCP" probe default/frontend default/backend 80/TCP
  after=$(dropped_packets "$agent" default backend ingress) || fail "no /metrics from agent $agent"
  assert "bulkhead_dropped_packets_total of default/backend ingress rose: $before -> $after" test "$after" -gt "$before"
  explanation=$(k -n bulkhead-system exec "$agent" -- bulkhead agent explain default/frontend default/backend 80/TCP) ||
    fail "bulkhead agent explain failed in $agent"
  printf '%s\n' "$explanation"
  assert "the explanation names default/deny-all-ingress-to-backend" grep -q 'default/deny-all-ingress-to-backend' <<<"$explanation"
}

main() {
  trap cleanup EXIT
  preflight
  create_cluster
  install_flannel
  install_bulkhead
  start_outside_host
  start_workloads
  replay_seed_demo
  replay_steps
  explain_denial
  log "$checks checks, $failures failed"
  [ "$failures" -eq 0 ]
}

main "$@"
