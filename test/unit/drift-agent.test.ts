// The agent's side of drift repair, with the real nft in a throwaway netns: a check never compares while a
// transaction runs, and a rebuild asked for while a sync is already under way is not lost to that sync.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/index.js';
import { useThrowawayNetns, writeExecutable } from '../support/netns.js';
import { until } from '../support/until.js';

const netns = useThrowawayNetns('bhda');
const nft = netns.nft;

const podText = (name: string, app: string, node: string, ip: string) => `---
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: prod, labels: { app: ${app} } }
spec: { nodeName: ${node}, containers: [{ name: main, image: lab }] }
status: { podIPs: [{ ip: ${ip} }] }
`;
const policyText = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: allow-db, namespace: prod }
spec:
  podSelector: { matchLabels: { app: db } }
  ingress:
  - from: [{ podSelector: { matchLabels: { app: web } } }]
`;

describe('agent and drift checks (real nft in a throwaway netns)', () => {
  it('skips checks while a transaction runs, and rebuilds after a sync that was under way when drift was found', async () => {
    const manifestsDir = join(netns.dir, 'manifests');
    const cniResultsDir = join(netns.dir, 'cni');
    await mkdir(manifestsDir);
    await mkdir(cniResultsDir);
    const cluster = join(manifestsDir, 'cluster.yaml');
    await writeFile(cluster, policyText + podText('db', 'db', 'node-a', '10.244.1.6') + podText('web', 'web', 'node-b', '10.244.2.5'));
    // While the `slow` file exists, a transaction (not a dry run, not a listing) says so in `underway`, then
    // takes a second.
    const slow = join(netns.dir, 'slow');
    const underway = join(netns.dir, 'underway');
    const nftPath = join(netns.dir, 'nft');
    await writeExecutable(
      nftPath,
      `#!/bin/sh\ncase " $* " in *" -f "*) case " $* " in *" -c "*) ;; *) [ -e ${slow} ] && touch ${underway} && sleep 1 ;; esac ;; esac\nexec ${netns.nftPath} "$@"\n`,
    );

    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const agent = await startAgent({
      nodeName: 'node-a',
      source: { kind: 'manifests', directory: manifestsDir },
      cniResultsDir,
      nftPath,
      debounceMs: 10,
      rescanIntervalMs: 60_000,
      driftCheckIntervalMs: 3_600_000,
      logger,
    });
    try {
      await until('the first transaction', () => agent.status().appliedTransactions === 1);
      expect(await agent.checkDrift()).toEqual({ kind: 'in-sync' });

      // Someone adds a rule to the pod's chain; a pod change is synced as a diff that leaves that chain alone.
      nft('insert', 'rule', 'inet', 'bulkhead', 'pod_in_prod_db', 'accept', 'comment', '"foreign"');
      await writeFile(slow, '');
      await writeFile(cluster, policyText + podText('db', 'db', 'node-a', '10.244.1.6') + podText('web-2', 'web', 'node-c', '10.244.3.7'));
      await until('the diff to be under way', () => existsSync(underway));
      // The kernel may hold either plan meanwhile: no comparison.
      expect(await agent.checkDrift()).toEqual({ kind: 'skipped', reason: 'nothing applied exactly' });
      // The drift is found just before the diff lands; the diff must not make the agent forget it.
      agent.requestFullResync('drift found while a sync ran');
      await rm(slow);

      await until('the diff, then the rebuild', () => agent.status().appliedTransactions === 3, 15_000);
      const applied = logs.filter((l) => l['msg'] === 'rules applied').map((l) => l['replacedTables']);
      expect(applied).toEqual([true, false, true]);
      const ruleset = nft('list', 'ruleset');
      expect(ruleset).toMatch(/10\.244\.3\.7/);
      expect(ruleset).not.toMatch(/foreign/);
      expect(await agent.checkDrift()).toEqual({ kind: 'in-sync' });
    } finally {
      await agent.stop();
    }
  });
});
