// The lab's API server as a process of its own, for a lab left up by `lab-cli up`: the fake API server on a unix
// socket, its CA written beside it for clients (lab-cli apply) and the nodes' kubeconfig. It runs until SIGTERM
// or SIGINT; lab-cli starts it in a node's namespace, so the lab's teardown ends it with everything else.
//   node --import tsx test/lab/apiserver-process.ts SOCKET CA_FILE
import { renameSync, writeFileSync } from 'node:fs';
import { startFakeApiServer } from '../kube/fake-apiserver.js';

const [socketPath, caFile] = process.argv.slice(2);
if (socketPath === undefined || caFile === undefined) {
  console.error('usage: apiserver-process.ts SOCKET CA_FILE');
  process.exit(2);
}
// Bookmarks every 200 ms: an apply is in force on every agent well under a second after it is written.
const server = await startFakeApiServer({ unixSocketPath: socketPath, bookmarkIntervalMs: 200 });
// Written last, and whole: its presence says the server listens.
writeFileSync(`${caFile}.tmp`, server.caCertificate);
renameSync(`${caFile}.tmp`, caFile);
console.log(JSON.stringify({ msg: 'listening', socket: socketPath, resourceVersion: server.resourceVersion }));
await new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
await server.close();
