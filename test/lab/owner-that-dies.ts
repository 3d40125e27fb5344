// A lab owner that dies the way it is told, for the test that proves a dying owner leaves nothing behind
// (or, when killed with SIGKILL, leaves what destroyAll can find). Prints the lab's prefix and the pid of a
// process it runs in the node, then waits for "go" on stdin, so the test can look at the lab while it is up.
// If stdin closes first (the test itself died), it exits and cleans up.
import { createInterface } from 'node:readline';
import { createLab } from './lab.js';

type Death = 'throw' | 'exit' | 'SIGTERM' | 'SIGINT' | 'SIGKILL';
const deaths: readonly Death[] = ['throw', 'exit', 'SIGTERM', 'SIGINT', 'SIGKILL'];

const death = process.argv[2] as Death;
if (!deaths.includes(death)) throw new Error(`usage: owner-that-dies.ts ${deaths.join('|')}`);

const lab = await createLab({ nodes: 1, outside: false });
const pod = await lab.addPod({ namespace: 'default', name: 'doomed', node: 'node1' });
await lab.startServer(pod, 80, 'tcp');
const sleeper = await lab.runInNode(lab.node('node1'), ['sleep', '600']);
process.stdout.write(`${lab.prefix} ${sleeper.pid}\n`);
await new Promise<void>((resolve) => {
  const input = createInterface({ input: process.stdin });
  input.once('line', () => resolve());
  input.once('close', () => process.exit(1));
});

switch (death) {
  case 'throw':
    setTimeout(() => {
      throw new Error('owner-that-dies: uncaught, on purpose');
    });
    break;
  case 'exit':
    process.exit(3);
    break;
  case 'SIGTERM':
  case 'SIGINT':
  case 'SIGKILL':
    process.kill(process.pid, death);
    break;
  default: {
    const unreachable: never = death;
    throw new Error(`unknown death ${String(unreachable)}`);
  }
}
