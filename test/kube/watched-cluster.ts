// A fake API server and a cluster watch pointed at it through a kubeconfig, with fast timings, for tests.
import { pino } from 'pino';
import { expect, vi } from 'vitest';
import { type ClusterEvent, type ClusterWatch, type WatchTiming, watchCluster } from '../../src/kube/index.js';
import { expectedState } from './expected-state.js';
import { type FakeApiServer, type FakeApiServerOptions, startFakeApiServer } from './fake-apiserver.js';
import { writeKubeconfig } from './kubeconfig.js';

export const FAST_TIMING: WatchTiming = {
  pageSize: 2,
  watchTimeoutSeconds: 60,
  stallTimeoutMs: 400,
  resyncIntervalMs: 600_000,
  requestTimeoutMs: 2_000,
  backoff: { initialDelayMs: 20, maxDelayMs: 200 },
};

export const FAST_SERVER: FakeApiServerOptions = { bookmarkIntervalMs: 100, tooLargeResourceVersionWaitMs: 200 };

export interface WatchedCluster {
  readonly server: FakeApiServer;
  readonly watch: ClusterWatch;
  /** Every event the state sent, in order. */
  readonly events: ClusterEvent[];
  close(): Promise<void>;
}

export async function startWatchedCluster(
  setup: (server: FakeApiServer) => void = () => undefined,
  options: { server?: FakeApiServerOptions; timing?: Partial<WatchTiming> } = {},
): Promise<WatchedCluster> {
  const server = await startFakeApiServer({ ...FAST_SERVER, ...options.server });
  setup(server);
  const path = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate, token: 'test-token' }]);
  const watch = watchCluster({
    connection: { kind: 'kubeconfig', paths: [path] },
    logger: pino({ level: process.env['BULKHEAD_TEST_LOG'] ?? 'silent' }),
    timing: { ...FAST_TIMING, ...options.timing },
  });
  const events: ClusterEvent[] = [];
  watch.state.subscribe((event) => events.push(event));
  return {
    server,
    watch,
    events,
    close: async () => {
      await watch.stop();
      await server.close();
    },
  };
}

/** Waits until the watch's state is exactly the server's, as the manifest loader reads the server's objects. */
export async function expectConverged({ server, watch }: { server: FakeApiServer; watch: ClusterWatch }, timeoutMs = 5_000): Promise<void> {
  await vi.waitFor(
    () => {
      const expected = expectedState(server);
      expect(watch.state.synced).toBe(true);
      expect(watch.state.snapshotInput()).toEqual(expected.input);
      expect(watch.state.problems()).toEqual(expected.problems);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}
